import pywbem
c = pywbem.WBEMConnection('http://127.0.0.1:15990', ('u','p'), default_namespace='root/cimv2')
iname = pywbem.CIMInstanceName('Win32_Share', keybindings={'Name': 'x'})
tests = {
 'GetInstance': lambda: c.GetInstance(iname),
 'EnumerateInstances': lambda: c.EnumerateInstances('Win32_Share'),
 'EnumerateInstanceNames': lambda: c.EnumerateInstanceNames('Win32_Share'),
 'ExecQuery': lambda: c.ExecQuery('WQL', 'SELECT * FROM Win32_Share'),
 'AssociatorNames': lambda: c.AssociatorNames(iname),
 'GetClass': lambda: c.GetClass('Win32_Share'),
 'EnumerateClasses': lambda: c.EnumerateClasses(),
 'EnumerateClassNames': lambda: c.EnumerateClassNames(),
 'EnumerateQualifiers': lambda: c.EnumerateQualifiers(),
 'OpenEnumerateInstances': lambda: c.OpenEnumerateInstances('Win32_Share'),
 'PullInstancePaths': lambda: c.PullInstancePaths(('ctx','root/cimv2'), 10),
 'OpenQueryInstances': lambda: c.OpenQueryInstances('WQL', 'SELECT * FROM Win32_Share'),
 'CloseEnumeration': lambda: c.CloseEnumeration(('ctx','root/cimv2')),
 'Associators(class)': lambda: c.Associators('Win32_Share'),
}
for k, f in tests.items():
    try:
        r = f(); print("OK ", k, repr(r)[:150])
    except Exception as e:
        print("ERR", k, type(e).__name__, str(e)[:300])
