"""Manual interop check: parse the responses written by tests/dtd.rs
(<target>/cimxml-dtd/rsp-*.xml) with pywbem's own response parser.
Usage: python3 pywbem_parse_responses.py <target>/cimxml-dtd  (needs pywbem==1.9.1)"""
import glob, sys
from pywbem._tupletree import xml_to_tupletree_sax
from pywbem._tupleparse import TupleParser
bad = 0
for f in sorted(glob.glob(sys.argv[1] + '/rsp-*.xml')):
    try:
        TupleParser().parse_cim(xml_to_tupletree_sax(open(f, 'rb').read(), f))
        print("OK ", f)
    except Exception as e:
        bad += 1
        print("ERR", f, type(e).__name__, e)
sys.exit(1 if bad else 0)
