import http.server, sys, os, itertools
out = sys.argv[2]; os.makedirs(out, exist_ok=True)
n = itertools.count()
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        ln = int(self.headers.get('Content-Length', 0))
        body = self.rfile.read(ln)
        meth = self.headers.get('CIMMethod', 'x')
        i = next(n)
        with open(f"{out}/{i:02d}-{meth}.xml", 'wb') as f: f.write(body)
        with open(f"{out}/{i:02d}-{meth}.headers", 'w') as f: f.write(str(self.headers))
        resp = b'<?xml version="1.0" encoding="utf-8" ?><CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1001" PROTOCOLVERSION="1.0"><SIMPLERSP><IMETHODRESPONSE NAME="%s"><ERROR CODE="7" DESCRIPTION="capture"/></IMETHODRESPONSE></SIMPLERSP></MESSAGE></CIM>' % meth.encode()
        self.send_response(200)
        self.send_header('Content-Type', 'application/xml; charset="utf-8"')
        self.send_header('CIMOperation', 'MethodResponse')
        self.send_header('Content-Length', str(len(resp)))
        self.end_headers(); self.wfile.write(resp)
    def log_message(self, *a): pass
http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
