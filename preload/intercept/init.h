/* init.h: start-up of the library. */
#ifndef FA_INIT_H
#define FA_INIT_H

/* Reads the options, resolves real functions, registers our atfork handlers. Runs in our
 * constructor and, if another library's constructor forks first, from that fork. */
void fa_init(void);

#endif
