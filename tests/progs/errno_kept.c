/* The wrappers never change errno or return values: errno is set to a marker before
 * calls that succeed, and must still hold it after; failing calls keep their own errno.
 * Prints "errno_ok=1" when every check passed, else the first failing check. */
#include "progs.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>

#define CHECK(what, cond)                                 \
    do {                                                  \
        if (!(cond)) {                                    \
            dprintf(1, "failed=%s errno=%d\n", what, errno); \
            return 1;                                     \
        }                                                 \
    } while (0)

int main(void)
{
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    errno = 4242;
    CHECK("lock", pthread_mutex_lock(&m) == 0 && errno == 4242);
    CHECK("trylock_busy", pthread_mutex_trylock(&m) == EBUSY && errno == 4242);
    CHECK("unlock", pthread_mutex_unlock(&m) == 0 && errno == 4242);
    int fd = open("/dev/null", O_RDONLY);
    CHECK("open", fd >= 0 && errno == 4242);
    CHECK("open_missing", open("/nonexistent/forkaudit", O_RDONLY) == -1 && errno == ENOENT);
    errno = 4242;
    int p[2];
    CHECK("pipe", pipe(p) == 0 && errno == 4242);
    CHECK("dup", dup(fd) >= 0 && errno == 4242);
    CHECK("dup_bad", dup(-5) == -1 && errno == EBADF);
    errno = 4242;
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK("socket", s >= 0 && errno == 4242);
    CHECK("close", close(s) == 0 && errno == 4242);
    CHECK("close_bad", close(-1) == -1 && errno == EBADF);
    errno = 4242;
    FILE *f = fopen("/dev/null", "r");
    CHECK("fopen", f && errno == 4242);
    srand(7);
    CHECK("srand", errno == 4242);
    int a = rand();
    srand(7);
    CHECK("rand_same_sequence", rand() == a && errno == 4242);
    pid_t pid = fork();
    if (pid == 0) _exit(errno == 4242 ? 0 : 1);
    CHECK("fork_parent", pid > 0 && errno == 4242);
    int status;
    waitpid(pid, &status, 0);
    CHECK("fork_child", WIFEXITED(status) && WEXITSTATUS(status) == 0);
    print_value("errno_ok", 1);
    return 0;
}
