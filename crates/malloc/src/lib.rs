//! How the process's allocator gives large blocks back to the system.
//!
//! glibc malloc serves blocks above its mmap threshold (128 KiB) from their
//! own mappings, returned on free, but it raises that threshold to the size
//! of the largest such block freed (up to 32 MiB). After the first password
//! check freed argon2's memory, every later one came from a thread's heap and
//! stayed there: `openwmi serve` grew with every burst of logins
//! (regression test: `test_repeated_logins_give_their_memory_back` in
//! tests/e2e/test_server.py). Fixing the threshold turns that adjustment off,
//! and with it the one of the trim threshold (free memory kept at the top of
//! a heap), which is therefore set too: left at its 128 KiB default, the
//! buffers of a streamed answer were given back and faulted in again on
//! every request.
//!
//! And how a large buffer about to be filled asks for huge pages: argon2's
//! memory, faulted in 4 KiB at a time, cost a password check several times
//! the system time it costs in 2 MiB pages (figures: BENCHMARKS.md,
//! "Measured decisions").
//!
//! And how the server lets go of the code pages start-up touched
//! ([`release_startup_code`]).
//!
//! This is the one place openwmi itself calls C; elsewhere `unsafe` is
//! forbidden.

/// The threshold the server uses: well above the blocks of its hot paths
/// (response chunks are 64 KiB), well below argon2's.
pub const SERVER_MMAP_THRESHOLD: usize = 1 << 20;

/// Makes blocks of `threshold` bytes and more come from their own mappings,
/// returned to the system when freed, for the rest of the process's life;
/// a heap gives memory back once twice that is free at its top (glibc's own
/// rule when it adjusts the thresholds itself). Whether the allocator took
/// the settings: `false` on a C library other than glibc, where nothing is
/// changed.
pub fn return_large_blocks(threshold: usize) -> bool {
    imp::return_large_blocks(threshold)
}

/// Gives the free memory inside the allocator's heaps back to the system
/// (`malloc_trim(0)`). Small blocks freed in the middle of a heap stay
/// mapped otherwise: a large data-source snapshot, once dropped, kept the
/// process at its peak. Whether anything was given back; `false` on a C
/// library other than glibc, where nothing is done.
pub fn release_free_memory() -> bool {
    imp::release_free_memory()
}

/// Lets go of the pages of machine code and constants (the program's and
/// its shared libraries') that are mapped now, once start-up is over; the ones requests run come back at their
/// first use. The kernel maps a file's pages in runs around each one
/// touched (fault-around), so start-up (the schema compile, the
/// configuration, the first password check) left most of the code
/// resident although serving touches a small part of it. Code is never
/// written, so nothing is lost and the pages stay in the page cache: no
/// I/O, a minor fault each at the next use. How many bytes were let go;
/// 0 where this is not Linux/glibc or `/proc` cannot tell.
pub fn release_startup_code() -> usize {
    imp::release_startup_code()
}

/// The read-only mappings of files (code, constants) in
/// `/proc/self/smaps` text that hold no page of their own (`Anonymous: 0
/// kB`), as address ranges: dropping their pages loses nothing. A mapping
/// the dynamic linker wrote before making it read-only (RELRO) holds
/// private copies and is left alone, as is anything writable, anonymous
/// or not a file. Lines it cannot read are skipped.
pub fn clean_file_ranges(smaps: &str) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    // The mapping being read, while it qualifies.
    let mut current: Option<(usize, usize)> = None;
    for line in smaps.lines() {
        if let Some(range) = mapping_header(line) {
            current = range;
            continue;
        }
        if let Some(rest) = line.strip_prefix("Anonymous:") {
            if let Some(range) = current.take() {
                if rest.trim() == "0 kB" {
                    ranges.push(range);
                }
            }
        }
    }
    ranges
}

/// A mapping's first line in smaps: `Some(None)` for a mapping that does
/// not qualify, `Some(Some(range))` for a read-only file mapping, `None`
/// for any other line.
fn mapping_header(line: &str) -> Option<Option<(usize, usize)>> {
    let mut fields = line.split_whitespace();
    let (start, end) = fields.next()?.split_once('-')?;
    let start = usize::from_str_radix(start, 16).ok()?;
    let end = usize::from_str_radix(end, 16).ok()?;
    let perms = fields.next()?;
    if perms.len() != 4 {
        return None;
    }
    let _offset = fields.next()?;
    let _device = fields.next()?;
    let inode: u64 = fields.next()?.parse().ok()?;
    let path = fields.next().unwrap_or("");
    let qualifies = start < end
        && inode != 0
        && path.starts_with('/')
        && perms.starts_with('r')
        && !perms.contains('w')
        && perms.ends_with('p');
    Some(qualifies.then_some((start, end)))
}

/// Asks the kernel to back the spare capacity of `buffer` (what lies past
/// its length) with transparent huge pages, before it is filled: a large
/// buffer then costs a few page faults instead of one per 4 KiB. Advice
/// only: nothing about the buffer changes, and where huge pages are off
/// (or on another system) it does nothing.
pub fn prefer_huge_pages<T>(buffer: &mut Vec<T>) {
    let size = std::mem::size_of::<T>();
    let start = buffer.as_mut_ptr() as usize + buffer.len() * size;
    let end = buffer.as_mut_ptr() as usize + buffer.capacity() * size;
    imp::prefer_huge_pages(start, end);
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod imp {
    /// Whole pages of [start, end), an address range the caller owns.
    pub fn prefer_huge_pages(start: usize, end: usize) {
        const PAGE: usize = 4096;
        let first = start.next_multiple_of(PAGE);
        let last = end / PAGE * PAGE;
        if last <= first {
            return;
        }
        // SAFETY: [first, last) lies within the spare capacity of a Vec
        // borrowed mutably by our caller, so no one else uses those pages
        // meanwhile; MADV_HUGEPAGE changes neither their contents nor their
        // validity, only how the kernel backs them when they are touched.
        // An error (no THP support) leaves everything as it was.
        #[allow(unsafe_code)]
        unsafe {
            libc::madvise(
                first as *mut libc::c_void,
                last - first,
                libc::MADV_HUGEPAGE,
            );
        }
    }

    pub fn release_startup_code() -> usize {
        let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
            return 0;
        };
        let mut released = 0;
        for (start, end) in super::clean_file_ranges(&smaps) {
            // SAFETY: [start, end) is a private, read-only mapping of a
            // program or library file (code, constants), page-aligned as
            // the kernel lists it, with no private copy of any page
            // (Anonymous: 0 kB; being read-only, none can appear since).
            // MADV_DONTNEED drops its page-table entries; the next access
            // maps the same bytes from the file again, also for a thread
            // running there meanwhile: what the kernel does to such pages
            // itself under memory pressure. An error leaves everything as
            // it was.
            #[allow(unsafe_code)]
            let done = unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED)
            };
            if done == 0 {
                released += end - start;
            }
        }
        released
    }

    pub fn return_large_blocks(threshold: usize) -> bool {
        let (Ok(mmap), Some(Ok(trim))) = (
            libc::c_int::try_from(threshold),
            threshold.checked_mul(2).map(libc::c_int::try_from),
        ) else {
            return false;
        };
        set(libc::M_TRIM_THRESHOLD, trim) && set(libc::M_MMAP_THRESHOLD, mmap)
    }

    pub fn release_free_memory() -> bool {
        // SAFETY: malloc_trim takes an integer and only returns free pages
        // of malloc's heaps to the kernel, under malloc's own locks; it may
        // be called from any thread at any time.
        #[allow(unsafe_code)]
        let released = unsafe { libc::malloc_trim(0) };
        released == 1
    }

    fn set(parameter: libc::c_int, value: libc::c_int) -> bool {
        // SAFETY: mallopt takes two integers and only changes malloc's
        // parameters, under malloc's own lock; it may be called from any
        // thread at any time, and glibc checks the value.
        #[allow(unsafe_code)]
        let done = unsafe { libc::mallopt(parameter, value) };
        done == 1
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod imp {
    pub fn prefer_huge_pages(_start: usize, _end: usize) {}

    pub fn release_startup_code() -> usize {
        0
    }

    pub fn return_large_blocks(_threshold: usize) -> bool {
        false
    }

    pub fn release_free_memory() -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_page_advice_leaves_the_buffer_as_it_was() {
        let mut buffer: Vec<u64> = Vec::with_capacity(1 << 20);
        buffer.extend([7, 8, 9]);
        prefer_huge_pages(&mut buffer);
        buffer.resize(1 << 20, 1);
        assert_eq!(&buffer[..4], &[7, 8, 9, 1]);
        assert!(buffer[3..].iter().all(|&v| v == 1));
        // Nothing spare: nothing to advise.
        let mut full = vec![1u8; 10];
        prefer_huge_pages(&mut full);
        assert_eq!(full, vec![1u8; 10]);
    }

    #[test]
    fn only_clean_read_only_file_mappings_are_let_go() {
        let smaps = "\
55d0c0a00000-55d0c0b64000 r--p 00000000 fe:00 5310922 /usr/bin/openwmi
Rss:                 640 kB
Anonymous:             0 kB
55d0c0b64000-55d0c113c000 r-xp 00164000 fe:00 5310922 /usr/bin/openwmi
Rss:                4640 kB
Anonymous:             0 kB
55d0c113c000-55d0c1152000 r--p 0073b000 fe:00 5310922 /usr/bin/openwmi
Anonymous:            88 kB
55d0c1152000-55d0c1154000 rw-p 00751000 fe:00 5310922 /usr/bin/openwmi
Anonymous:             0 kB
55d0c1154000-55d0c1200000 rw-p 00000000 00:00 0 [heap]
Anonymous:           100 kB
7f0e1c000000-7f0e1c021000 rw-p 00000000 00:00 0
Anonymous:             0 kB
7ffd6a1f0000-7ffd6a1f2000 r-xp 00000000 00:00 0 [vdso]
Anonymous:             0 kB
7f0e1c100000-7f0e1c200000 r--s 00000000 fe:00 77 /run/shared.tdb
Anonymous:             0 kB
zz-yy r-xp 0 fe:00 5310922 /usr/bin/openwmi
Anonymous:             0 kB
";
        assert_eq!(
            clean_file_ranges(smaps),
            vec![
                (0x55d0_c0a0_0000, 0x55d0_c0b6_4000),
                (0x55d0_c0b6_4000, 0x55d0_c113_c000)
            ]
        );
        assert!(clean_file_ranges("").is_empty());
        assert!(clean_file_ranges("Anonymous: 0 kB\n").is_empty());
    }

    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn the_code_let_go_still_runs() {
        let released = release_startup_code();
        assert!(released > 0, "this test's own code is mapped from its file");
        // Run code from all over the program again: the same answers.
        assert_eq!(clean_file_ranges(""), Vec::new());
        assert!(return_large_blocks(SERVER_MMAP_THRESHOLD));
        assert_eq!(format!("{:?}", vec![1, 2]), "[1, 2]");
    }

    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn glibc_takes_the_threshold() {
        assert!(return_large_blocks(SERVER_MMAP_THRESHOLD));
        // Not an int (or twice it is not): nothing is passed to C.
        assert!(!return_large_blocks(usize::MAX));
        assert!(!return_large_blocks(libc::c_int::MAX as usize));
    }
}
