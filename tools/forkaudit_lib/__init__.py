"""forkaudit_lib: the parts of the forkaudit launcher (tools/forkaudit), one job per module.

preflight  find the library; refuse commands the dynamic loader would not preload it into
records    read a run directory's JSON logs: process tree, fork counts, distinct findings
kinds      per kind of record: SARIF rule, what makes one finding, its description and stacks
symbolize  file:line for frames through addr2line (binutils), one call per module
summary    the summary the launcher prints on stderr
export     the --json and --sarif files

Standard library only; nothing here touches the network.
"""
