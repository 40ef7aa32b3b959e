/* A library that protects its lock across fork the right way: its prepare handler takes
 * the lock, its parent and child handlers release it. The lock is recursive so the
 * program may hold it while forking (then the prepare handler takes it a second time). */
#include <pthread.h>

static pthread_mutex_t lib_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

static void prepare(void) { pthread_mutex_lock(&lib_lock); }
static void release(void) { pthread_mutex_unlock(&lib_lock); }

__attribute__((constructor)) static void lib_init(void) { pthread_atfork(prepare, release, release); }

void *atfork_lib_lock_addr(void) { return &lib_lock; }
void atfork_lib_enter(void) { pthread_mutex_lock(&lib_lock); }
void atfork_lib_leave(void) { pthread_mutex_unlock(&lib_lock); }
