// cxx_two_locks.cc: two std::mutex locks held at one fork, taken through std::lock_guard
// and built with -O0 (the Makefile's CXXOPT_cxx_two_locks), so the standard library's
// wrappers (std::lock_guard, std::mutex::lock, __gthread_mutex_lock in gthr-default.h)
// are real frames between the program's functions and pthread_mutex_lock. main holds
// config_mutex (taken in Config::reload: a warning, the forking thread holds it) and a
// worker holds stats_mutex (taken in Stats::update: an error, the child inherits it
// locked). Synchronised by pipes; the child only _exits. Prints "child_status=N".
#include <cstdio>
#include <mutex>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace app {
struct Config {
    std::mutex config_mutex;
    int generation = 0;
    void reload(int fork_ready_fd);
};

struct Stats {
    std::mutex stats_mutex;
    long forks = 0;
    void update(int held_fd, int release_fd);
};

static char wait_byte(int fd)
{
    char c = 0;
    while (read(fd, &c, 1) < 0) {
    }
    return c;
}

static void send_byte(int fd)
{
    while (write(fd, "x", 1) < 0) {
    }
}

// The worker: holds stats_mutex until main says the fork is over.
void Stats::update(int held_fd, int release_fd)
{
    std::lock_guard<std::mutex> guard(stats_mutex); // LOCK stats_mutex
    forks++;
    send_byte(held_fd);
    wait_byte(release_fd);
}

pid_t fork_under_config(Config &config)
{
    std::lock_guard<std::mutex> guard(config.config_mutex); // LOCK config_mutex
    config.generation++;
    pid_t pid = fork(); // FORK
    if (pid == 0) _exit(0);
    return pid;
}
} // namespace app

int main()
{
    int held[2], release[2];
    if (pipe(held) != 0 || pipe(release) != 0) return 1;
    app::Config config;
    app::Stats stats;
    std::thread worker([&] { stats.update(held[1], release[0]); });
    app::wait_byte(held[0]);
    pid_t pid = app::fork_under_config(config);
    int status = 0;
    if (pid > 0) waitpid(pid, &status, 0);
    app::send_byte(release[1]);
    worker.join();
    std::printf("child_status=%d\n", pid > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}
