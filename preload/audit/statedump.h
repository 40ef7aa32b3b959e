/* statedump.h: the state record on demand (option dump_signal): lineage, locks held now
 * and inherited held, threads and stacks, written by the signal's handler. */
#ifndef FA_STATEDUMP_H
#define FA_STATEDUMP_H

/* Installs the handler of dump_signal when the option is set and the program has left the
 * signal at its default disposition (start-up; a diagnostic line on stderr otherwise). */
void fa_state_dump_init(void);

#endif
