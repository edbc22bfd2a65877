#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Documentation/netlink/specs/kbroker.yaml against the uapi header: every
# command, attribute and counter of the spec, with the numbers the spec
# implies (explicit "value", else one more than the previous entry), must
# be the header's.  The C compiler reads the header, so nothing is parsed
# by hand.
B=${B:-$(pwd)/build}
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
/usr/bin/python3 - "$d" <<'PY' || exit 1
import sys, yaml
d = sys.argv[1]
spec = yaml.safe_load(open("Documentation/netlink/specs/kbroker.yaml"))
def cname(prefix, name):
    return (prefix + name).upper().replace("-", "_")
checks = []
for aset in spec["attribute-sets"]:
    v = -1
    for a in aset["attributes"]:
        v = a.get("value", v + 1)
        checks.append((cname(aset["name-prefix"], a["name"]), v))
ops = spec["operations"]
v = 0
for op in ops["list"]:
    v = op.get("value", v + 1)
    checks.append((cname(ops["name-prefix"], op["name"]), v))
with open(d + "/check.c", "w") as f:
    f.write('#include <stdio.h>\n#include <uapi/linux/kbroker.h>\n')
    f.write('int main(void)\n{\n\tint bad = 0, n = 0;\n\n')
    for name, val in checks:
        f.write('\tn++;\n\tif (%s != %d) {\n\t\tprintf("not ok %%d - %s is %%d, spec says %d\\n", n, (int)%s);\n\t\tbad = 1;\n\t} else {\n\t\tprintf("ok %%d - %s = %d\\n", n);\n\t}\n' % (name, val, name, val, name, name, val))
    f.write('\tprintf("1..%d\\n", n);\n\treturn bad;\n}\n')
PY
cc -Iinclude -o "$d/check" "$d/check.c" 2>"$d/err" || {
	echo "not ok 1 - the spec names something the uapi header lacks"
	sed 's/^/# /' "$d/err" | head -20
	echo "1..1"
	exit 1
}
"$d/check"
