/* A real third-party lock no wrapper sees: a GLib worker thread (g_thread_new) holds a
 * GMutex while the main thread forks; the child calls g_mutex_lock on it and blocks
 * forever (GMutex is a raw futex lock). Under child_watchdog the child-stuck record shows
 * a stack inside GLib's mutex code and names the worker. Prints worker_tid, child, and
 * how the child ended. */
#include <glib.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static GMutex mutex;
static int locked[2], finish[2];

static gpointer holder(gpointer arg)
{
    (void)arg;
    char c = 'x';
    printf("worker_tid=%ld\n", (long)syscall(SYS_gettid));
    fflush(stdout);
    g_mutex_lock(&mutex);
    if (write(locked[1], &c, 1) != 1) return NULL;
    if (read(finish[0], &c, 1) != 1) return NULL;
    g_mutex_unlock(&mutex);
    return NULL;
}

int main(void)
{
    char c = 'x';
    if (pipe(locked) != 0 || pipe(finish) != 0) return 1;
    GThread *t = g_thread_new("holder", holder, NULL);
    if (read(locked[0], &c, 1) != 1) return 1;
    pid_t pid = fork();
    if (pid == 0) {
        g_mutex_lock(&mutex); /* held by a thread this child does not have */
        _exit(0);
    }
    printf("child=%ld\n", (long)pid);
    int status = 0;
    waitpid(pid, &status, 0);
    printf("child_signal=%d\n", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    if (write(finish[1], &c, 1) != 1) return 1;
    g_thread_join(t);
    return 0;
}
