/* A forked child takes a lock it can never get. argv[1] picks the lock and the holder:
 *   mutex-gone     a worker held the mutex at fork (the child has no such thread)
 *   mutex-self     the forking thread held it (its copy in the child holds it already)
 *   mutex-reinit   as mutex-gone, but the child re-initialises the mutex first (no report)
 *   mutex-unlocked as mutex-self, but the child unlocks it first (no report)
 *   sem-self       the forking thread took a binary semaphore
 *   rwlock-write   a worker held it for writing; the child asks to read
 *   rwlock-read    a worker held it for reading; the child asks to read (no report)
 *   spin-gone      a worker held the spinlock (run with on_child_deadlock=abort)
 *   mtx-gone       a worker held a C11 mtx_t
 *   errorcheck-self the forking thread held an error-checking mutex: glibc checks the
 *                  owner's tid, and the child's thread has another, so the relock blocks
 *   robust-gone    a worker held a robust mutex
 *   pi-self        the forking thread held a priority-inheritance mutex; the child's
 *                  unlock fails (EPERM: the kernel checks the owner), then it relocks
 *   recursive-gone a worker held a recursive mutex; the child's unlock fails, it relocks
 *   mtx-rec-self   the forking thread held a recursive mtx_t; the child's mtx_unlock
 *                  fails, it relocks
 *   sem-event      no report: the child takes a semaphore of its own, then waits on it
 *                  again until a thread it started posts it (Python's Event.wait)
 *   sem-posted     no report: a worker took a semaphore and posted it behind the
 *                  auditor's back (libc's own sem_post), so the record is stale but the
 *                  value (1) shows it free
 * Timed waits (100 ms) let the child come back under on_child_deadlock=report; with
 * argv[2] "untimed" the child waits without a timeout instead. The parent prints
 * "child_status=N" (exit status) or "child_signal=N". */
#include "progs.h"

#include <dlfcn.h>
#include <errno.h>
#include <semaphore.h>
#include <string.h>
#include <threads.h>
#include <time.h>

static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rwlock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_spinlock_t spin;
static sem_t sem;
static mtx_t mtx;
static const char *mode;
static pthread_barrier_t held;
static struct gate finish;

static struct timespec soon(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_nsec += 100L * 1000 * 1000;
    if (t.tv_nsec >= 1000000000) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000;
    }
    return t;
}

static int is(const char *m) { return strcmp(mode, m) == 0; }

/* sem-event: posts once the child's main thread sleeps (in its second sem_wait). */
static sem_t event;
static long waiter_tid;

static void *event_setter(void *arg)
{
    (void)arg;
    char path[64], stat[256];
    snprintf(path, sizeof path, "/proc/self/task/%ld/stat", waiter_tid);
    for (;;) {
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(stat, 1, sizeof stat - 1, f) : 0;
        if (f) fclose(f);
        stat[n] = 0;
        char *state = strrchr(stat, ')');
        if (state && state[1] == ' ' && state[2] == 'S') break;
        sched_yield();
    }
    sem_post(&event);
    return NULL;
}

static int wait_for_event(void)
{
    sem_init(&event, 0, 1);
    if (sem_trywait(&event) != 0) return 98; /* "acquired": the waiter lock is now held */
    waiter_tid = my_tid();
    pthread_t t;
    pthread_create(&t, NULL, event_setter, NULL);
    int rc = sem_wait(&event); /* value 0: blocks until event_setter posts */
    pthread_join(t, NULL);
    return rc;
}

static void init_mutex(int type, int robust, int prio_inherit)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, type);
    if (robust) pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    if (prio_inherit) pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
    pthread_mutex_init(&mutex, &a);
}

static void take_in_worker(void)
{
    if (is("rwlock-write")) pthread_rwlock_wrlock(&rwlock);
    else if (is("rwlock-read")) pthread_rwlock_rdlock(&rwlock);
    else if (is("spin-gone")) pthread_spin_lock(&spin);
    else if (is("mtx-gone")) mtx_lock(&mtx);
    else if (is("sem-posted")) {
        sem_wait(&sem);
        void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
        int (*libc_sem_post)(sem_t *) = (int (*)(sem_t *))dlsym(libc, "sem_post");
        libc_sem_post(&sem);
    } else pthread_mutex_lock(&mutex);
}

static void *worker(void *arg)
{
    (void)arg;
    print_value("worker_tid", my_tid());
    take_in_worker();
    pthread_barrier_wait(&held);
    gate_wait(&finish);
    return NULL; /* exits holding it: the parent never needs it again */
}

/* Runs in the child: returns the exit status. */
static int child_takes_it(int untimed)
{
    if (is("sem-event")) return wait_for_event();
    if (is("sem-posted")) return sem_wait(&sem);
    if (untimed) { /* the same waits without a timeout (frames named child_takes_it too) */
        if (strncmp(mode, "mutex", 5) == 0) return pthread_mutex_lock(&mutex);
        if (is("sem-self")) return sem_wait(&sem);
        return 99;
    }
    struct timespec t = soon();
    if (is("pi-self") || is("recursive-gone")) {
        print_value("unlock", pthread_mutex_unlock(&mutex));
        return pthread_mutex_timedlock(&mutex, &t);
    }
    if (is("mtx-rec-self")) {
        print_value("unlock", mtx_unlock(&mtx));
        return mtx_timedlock(&mtx, &t);
    }
    if (is("mutex-reinit")) pthread_mutex_init(&mutex, NULL);
    if (is("mutex-unlocked")) pthread_mutex_unlock(&mutex);
    if (strncmp(mode, "mutex", 5) == 0 || is("errorcheck-self") || is("robust-gone"))
        return pthread_mutex_timedlock(&mutex, &t);
    if (is("sem-self")) return sem_timedwait(&sem, &t) == 0 ? 0 : errno;
    if (strncmp(mode, "rwlock", 6) == 0) return pthread_rwlock_timedrdlock(&rwlock, &t);
    if (is("spin-gone")) return pthread_spin_lock(&spin);
    if (is("mtx-gone")) return mtx_timedlock(&mtx, &t);
    return 99;
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    mode = argv[1];
    int untimed = argc > 2 && strcmp(argv[2], "untimed") == 0;
    if (is("errorcheck-self")) init_mutex(PTHREAD_MUTEX_ERRORCHECK, 0, 0);
    if (is("robust-gone")) init_mutex(PTHREAD_MUTEX_NORMAL, 1, 0);
    if (is("pi-self")) init_mutex(PTHREAD_MUTEX_NORMAL, 0, 1);
    if (is("recursive-gone")) init_mutex(PTHREAD_MUTEX_RECURSIVE, 0, 0);
    pthread_spin_init(&spin, 0);
    sem_init(&sem, 0, 1);
    mtx_init(&mtx, is("mtx-rec-self") ? mtx_timed | mtx_recursive : mtx_timed);
    pthread_t t;
    int gone = strstr(mode, "self") == NULL && !is("mutex-unlocked") && !is("sem-event");
    if (gone) {
        pthread_barrier_init(&held, NULL, 2);
        gate_init(&finish);
        pthread_create(&t, NULL, worker, NULL);
        pthread_barrier_wait(&held);
    } else if (is("sem-self")) {
        sem_wait(&sem);
    } else if (is("mtx-rec-self")) {
        mtx_lock(&mtx);
    } else if (!is("sem-event")) {
        pthread_mutex_lock(&mutex);
    }
    print_value("main_tid", my_tid());
    pid_t pid = fork();
    if (pid == 0) _exit(child_takes_it(untimed));
    print_value("child", pid);
    int status;
    waitpid(pid, &status, 0);
    if (WIFEXITED(status)) print_value("child_status", WEXITSTATUS(status));
    if (WIFSIGNALED(status)) print_value("child_signal", WTERMSIG(status));
    if (gone) gate_open(&finish);
    return 0;
}
