# Manual interop check: serves the responses tests/dtd.rs writes (<target>/cimxml-dtd) to pywbem.
# python3 server.py 15990 <target>/cimxml-dtd & python3 client.py
import http.server, sys
D = sys.argv[2]
M = {'GetInstance':'rsp-instance','EnumerateInstances':'rsp-named-instance','EnumerateInstanceNames':'rsp-instance-names',
     'ExecQuery':'rsp-object-with-path','AssociatorNames':'rsp-object-paths','GetClass':'rsp-class','EnumerateClasses':'rsp-classes',
     'EnumerateClassNames':'rsp-class-names','EnumerateQualifiers':'rsp-qualifier-decls','OpenEnumerateInstances':'rsp-pull-instances',
     'PullInstancePaths':'rsp-pull-paths','OpenQueryInstances':'rsp-pull-empty','CloseEnumeration':'rsp-empty','Associators':'rsp-class-with-path'}
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get('Content-Length', 0)))
        resp = open(f"{D}/{M[self.headers['CIMMethod']]}.xml",'rb').read()
        self.send_response(200)
        self.send_header('Content-Type', 'application/xml; charset="utf-8"')
        self.send_header('CIMOperation', 'MethodResponse')
        self.send_header('Content-Length', str(len(resp)))
        self.end_headers(); self.wfile.write(resp)
    def log_message(self, *a): pass
http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
