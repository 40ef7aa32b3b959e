"""forkaudit_lib: the parts of the forkaudit launcher (tools/forkaudit), one job per module.

preflight  find the library; refuse commands the dynamic loader would not preload it into
records    read a run directory's JSON logs: process tree, fork counts, distinct findings
kinds      per kind of record: SARIF rule, what makes one finding, its description and stacks
symbolize  file:line for frames through addr2line (binutils), one call per module
summary    the summary the launcher prints on stderr
export     the --json and --sarif files

Standard library only; nothing here touches the network.
"""

# The one version of forkaudit: include/forkaudit.h's FORKAUDIT_VERSION (the library's
# forkaudit_version()), the man pages' .TH lines and the README changelog's top entry say
# the same (checked by tests/integration/test_launcher.py, Version).
VERSION = "0.3.0"
