"""Writes a .env with 20 keys in mixed styles (the benchmark's file)."""
import sys

lines = ["# benchmark .env", ""]
for i in range(20):
    style = i % 4
    if style == 0:
        lines.append('KEY_%02d="value-%d-with-some-length-%s"' % (i, i, "x" * 20))
    elif style == 1:
        lines.append("KEY_%02d='single %d'" % (i, i))
    elif style == 2:
        lines.append("export KEY_%02d=plain%d # comment" % (i, i))
    else:
        lines.append('KEY_%02d="multi\\nline %d"' % (i, i))
with open(sys.argv[1], "w") as f:
    f.write("\n".join(lines) + "\n")
