import pywbem
c = pywbem.WBEMConnection('http://127.0.0.1:15988', ('user','pw'), default_namespace='root/cimv2')
iname = pywbem.CIMInstanceName('Win32_Share', keybindings={'Name': 'public'}, namespace='root/cimv2')
iname2 = pywbem.CIMInstanceName('Win32_ServerConnection', keybindings={'ShareName':'pub','UserName':'bob','ComputerName':'10.0.0.1','Num': pywbem.Uint32(3),'Flag':True})
calls = [
 lambda: c.GetClass('Win32_Share'),
 lambda: c.GetClass('Win32_Share', LocalOnly=False, IncludeQualifiers=True, IncludeClassOrigin=True, PropertyList=['Name','Path']),
 lambda: c.EnumerateClasses(),
 lambda: c.EnumerateClasses(ClassName='CIM_Share', DeepInheritance=True, LocalOnly=False),
 lambda: c.EnumerateClassNames(),
 lambda: c.EnumerateClassNames(ClassName='CIM_Share', DeepInheritance=True),
 lambda: c.GetInstance(iname),
 lambda: c.GetInstance(iname2, LocalOnly=False, IncludeQualifiers=False, PropertyList=['Name']),
 lambda: c.EnumerateInstances('Win32_Share'),
 lambda: c.EnumerateInstances('Win32_Share', LocalOnly=False, DeepInheritance=False, IncludeQualifiers=False, IncludeClassOrigin=True, PropertyList=[]),
 lambda: c.EnumerateInstanceNames('Win32_Share', namespace='root/interop'),
 lambda: c.ExecQuery('WQL', 'SELECT * FROM Win32_Share WHERE Name = "a<b>&c"'),
 lambda: c.Associators(iname, AssocClass='Win32_ConnectionShare', ResultClass='Win32_ServerConnection', Role='Antecedent', ResultRole='Dependent', IncludeQualifiers=False, IncludeClassOrigin=False, PropertyList=['Name']),
 lambda: c.Associators('Win32_Share'),
 lambda: c.AssociatorNames(iname),
 lambda: c.References(iname, ResultClass='Win32_ConnectionShare', Role='Antecedent'),
 lambda: c.ReferenceNames(iname),
 lambda: c.GetQualifier('Key'),
 lambda: c.EnumerateQualifiers(),
 lambda: c.OpenEnumerateInstances('Win32_Share', MaxObjectCount=100),
 lambda: c.OpenEnumerateInstances('Win32_Share', DeepInheritance=True, IncludeClassOrigin=False, PropertyList=['Name'], FilterQueryLanguage='DMTF:FQL', FilterQuery='Name = "x"', OperationTimeout=30, ContinueOnError=False, MaxObjectCount=10),
 lambda: c.OpenEnumerateInstancePaths('Win32_Share', MaxObjectCount=100),
 lambda: c.OpenAssociatorInstances(iname, AssocClass='Win32_ConnectionShare', MaxObjectCount=100),
 lambda: c.OpenAssociatorInstancePaths(iname, MaxObjectCount=100),
 lambda: c.OpenReferenceInstances(iname, MaxObjectCount=100),
 lambda: c.OpenReferenceInstancePaths(iname, MaxObjectCount=100),
 lambda: c.OpenQueryInstances('WQL', 'SELECT * FROM Win32_Share', MaxObjectCount=100),
 lambda: c.PullInstancesWithPath(('ctx-1','root/cimv2'), 100),
 lambda: c.PullInstancePaths(('ctx-2','root/cimv2'), 100),
 lambda: c.PullInstances(('ctx-3','root/cimv2'), 100),
 lambda: c.CloseEnumeration(('ctx-4','root/cimv2')),
 lambda: c.InvokeMethod('Create', pywbem.CIMClassName('Win32_Share', namespace='root/cimv2'), [('Path','/srv'),('Name','x'),('Type',pywbem.Uint32(0))]),
 lambda: c.DeleteInstance(iname),
]
for f in calls:
    try: f()
    except Exception as e: pass
