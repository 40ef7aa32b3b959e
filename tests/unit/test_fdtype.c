/* Unit tests of descriptor classification from /proc/self/fd link targets and st_mode. */
#include "unit.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "track/fdtrack.h"

static void targets_and_modes_are_classified(void **state)
{
    (void)state;
    assert_string_equal(fa_fd_type("socket:[1234]", S_IFSOCK), "socket");
    assert_string_equal(fa_fd_type("pipe:[99]", S_IFIFO), "pipe");
    assert_string_equal(fa_fd_type("/tmp/fifo", S_IFIFO), "fifo");
    assert_string_equal(fa_fd_type("anon_inode:[eventfd]", 0), "eventfd");
    assert_string_equal(fa_fd_type("anon_inode:[eventpoll]", 0), "epoll");
    assert_string_equal(fa_fd_type("anon_inode:[timerfd]", 0), "timerfd");
    assert_string_equal(fa_fd_type("anon_inode:[signalfd]", 0), "signalfd");
    assert_string_equal(fa_fd_type("anon_inode:inotify", 0), "inotify");
    assert_string_equal(fa_fd_type("anon_inode:[pidfd]", 0), "anon-inode");
    assert_string_equal(fa_fd_type("/memfd:cache (deleted)", S_IFREG), "memfd");
    assert_string_equal(fa_fd_type("/etc/passwd", S_IFREG), "file");
    assert_string_equal(fa_fd_type("/tmp/a file (deleted)", S_IFREG), "file");
    assert_string_equal(fa_fd_type("/tmp", S_IFDIR), "directory");
    assert_string_equal(fa_fd_type("/dev/null", S_IFCHR), "char-device");
    assert_string_equal(fa_fd_type("/dev/sda", S_IFBLK), "block-device");
    assert_string_equal(fa_fd_type("/run/x.sock", S_IFSOCK), "socket");
    assert_string_equal(fa_fd_type("", 0), "unknown");
}

static void access_modes(void **state)
{
    (void)state;
    assert_string_equal(fa_fd_access(O_RDONLY), "r");
    assert_string_equal(fa_fd_access(O_WRONLY | O_APPEND), "w");
    assert_string_equal(fa_fd_access(O_RDWR | O_NONBLOCK), "rw");
}

static void stale_origins_are_not_attributed(void **state)
{
    (void)state;
    /* An fd recorded for one file and then reused for another must not carry the old
     * opening site: the identity (dev, ino) decides. */
    int fd = open("/dev/null", O_RDONLY);
    assert_true(fd >= 0);
    fa_fdtrack_opened(fd, "open", NULL);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    const struct fa_fd_origin *o = fa_fdtrack_lookup(fd, st.st_dev, st.st_ino);
    assert_non_null(o);
    assert_string_equal(o->opened_by, "open");
    assert_true(o->nframes > 0);
    assert_null(fa_fdtrack_lookup(fd, st.st_dev, st.st_ino + 1));
    fa_fdtrack_closed(fd);
    assert_null(fa_fdtrack_lookup(fd, st.st_dev, st.st_ino));
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(targets_and_modes_are_classified),
        cmocka_unit_test(access_modes),
        cmocka_unit_test(stale_origins_are_not_attributed),
    };
    return cmocka_run_group_tests_name("descriptor classification", tests, NULL, NULL);
}
