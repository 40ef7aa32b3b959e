// Locks taken through wrappers: main holds `config` (an in-house Mutex class whose lock()
// is a function of its own) in reload_config() while it forks; a worker holds stats_mutex
// (std::lock_guard<std::mutex>) in update_stats(), another index_mutex (a read lock:
// std::shared_lock<std::shared_mutex>) in lookup_index(). Built at -O2 and at -O0
// (cxx_lock_wrappers_O0), where std::mutex::lock and __gthread_mutex_lock are functions
// of their own too. Expected: each lock-held-at-fork is placed in the user's function, not
// in a wrapper. Prints the workers' tids.
#include <mutex>
#include <shared_mutex>
#include <thread>

#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

class Mutex {
  public:
    __attribute__((noinline)) void lock()
    {
        pthread_mutex_lock(&m_);
        owner_ = syscall(SYS_gettid); // a wrapper that does more than a tail call
    }
    __attribute__((noinline)) void unlock()
    {
        owner_ = 0;
        pthread_mutex_unlock(&m_);
    }

  private:
    pthread_mutex_t m_ = PTHREAD_MUTEX_INITIALIZER;
    long owner_ = 0;
};

static Mutex config;
static std::mutex stats_mutex;
static std::shared_mutex index_mutex;
static int ready[2], release_workers[2];

static void wait_for_release()
{
    char c = 1;
    if (write(ready[1], &c, 1) != 1 || read(release_workers[0], &c, 1) != 1) _exit(3);
}

__attribute__((noinline)) static void update_stats()
{
    std::lock_guard<std::mutex> hold(stats_mutex);
    dprintf(1, "stats_tid=%ld\n", (long)syscall(SYS_gettid));
    wait_for_release();
}

__attribute__((noinline)) static void lookup_index()
{
    std::shared_lock<std::shared_mutex> hold(index_mutex);
    dprintf(1, "index_tid=%ld\n", (long)syscall(SYS_gettid));
    wait_for_release();
}

__attribute__((noinline)) static int reload_config()
{
    config.lock();
    pid_t child = fork();
    if (child == 0) _exit(0);
    int status = -1;
    waitpid(child, &status, 0);
    config.unlock();
    return status;
}

int main()
{
    if (pipe(ready) != 0 || pipe(release_workers) != 0) return 1;
    std::thread a(update_stats), b(lookup_index);
    char c;
    for (int i = 0; i < 2; i++)
        if (read(ready[0], &c, 1) != 1) return 1;
    int status = reload_config();
    if (write(release_workers[1], "xx", 2) != 2) return 1;
    a.join();
    b.join();
    dprintf(1, "child_status=%d\n", status);
    return 0;
}
