/* atfork.c: the table of other libraries' prepare handlers (see atfork.h). */
#include "track/atfork.h"

void (*fa_foreign_prepare[FA_TRAMPOLINES])(void);
void *fa_foreign_dso[FA_TRAMPOLINES];
int fa_foreign_claimed[FA_TRAMPOLINES];
