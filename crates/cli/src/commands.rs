//! `query`, `get`, `class` and `classes`: each is a job on a [`Services`]
//! handle, the same whether it runs in-process or on other hosts
//! ([`Run`]), and its results go to the one [`Printer`].

use crate::args::SummaryFormat;
use crate::args::{ClassArgs, ClassFormat, ClassesArgs, GetArgs, GlobalOptions, QueryArgs};
use crate::failure::Failure;
use crate::hosts::Run;
use crate::print::{Output, Printer};
use openwmi_cim::{CimError, CimStatus};
use openwmi_cimom::ClassOptions;
use openwmi_client::{Services, WbemError, WbemObject};
use std::process::ExitCode;

/// Runs `job` on every host of `run`, printing what it sends whatever happens.
fn run_job<J>(run: &Run, mut printer: Printer, job: J) -> Result<ExitCode, Failure>
where
    J: Fn(&Services, &dyn Fn(Output) -> bool) -> Result<(), WbemError> + Sync,
{
    let result = run.execute(job, |host, o| printer.put(host, o));
    printer.finish(matches!(result, Ok(ExitCode::SUCCESS)))?;
    result
}

pub fn query(a: &QueryArgs, g: &GlobalOptions) -> Result<ExitCode, Failure> {
    // Checked before connecting: ExecQuery through the client speaks WQL only.
    if !a.language.eq_ignore_ascii_case("WQL") {
        return Err(Failure::Cim(CimError::new(
            CimStatus::QueryLanguageNotSupported,
            format!(
                "query language {:?} is not supported; only WQL is",
                a.language
            ),
        )));
    }
    let run = Run::new(&a.remote, &a.ns.namespace, g)?;
    run_job(&run, Printer::rows(&a.out), |s, send| {
        let results = s.exec_query(&a.wql)?;
        if !send(Output::Opened) {
            return Ok(());
        }
        for o in results {
            if !send(Output::Object(o?)) {
                break;
            }
        }
        Ok(())
    })
}

pub fn get(a: &GetArgs, g: &GlobalOptions) -> Result<ExitCode, Failure> {
    let run = Run::new(&a.remote, &a.ns.namespace, g)?;
    run_job(&run, Printer::rows(&a.out), |s, send| {
        match s.get_object(&a.path)? {
            WbemObject::Class(c) => send(Output::After(openwmi_mof::class_to_mof(&c, true))),
            o => send(Output::Object(o)),
        };
        Ok(())
    })
}

/// A job whose answer is one text.
fn run_text<J>(run: &Run, job: J) -> Result<ExitCode, Failure>
where
    J: Fn(&Services) -> Result<String, WbemError> + Sync,
{
    run_job(run, Printer::text(), |s, send| {
        send(Output::Text(job(s)?));
        Ok(())
    })
}

pub fn class(a: &ClassArgs, g: &GlobalOptions) -> Result<ExitCode, Failure> {
    let run = Run::new(&a.remote, &a.ns.namespace, g)?;
    run_text(&run, |s| {
        let opts = ClassOptions {
            local_only: a.local_only,
            ..ClassOptions::default()
        };
        let class = s.get_class(&a.class, &opts)?;
        Ok(match a.output {
            ClassFormat::Mof => openwmi_mof::class_to_mof(&class, !a.local_only),
            ClassFormat::Json => crate::classfmt::class_to_json(&class),
        })
    })
}

pub fn classes(a: &ClassesArgs, g: &GlobalOptions) -> Result<ExitCode, Failure> {
    let run = Run::new(&a.remote, &a.ns.namespace, g)?;
    run_text(&run, |s| {
        let names = s.class_names(a.superclass.as_deref(), a.deep)?;
        Ok(match a.output {
            SummaryFormat::Text => names.iter().map(|n| format!("{n}\n")).collect(),
            SummaryFormat::Json => {
                let list: Vec<String> = names.iter().map(|n| n.to_string()).collect();
                serde_json::to_string(&list).unwrap_or_default()
            }
        })
    })
}
