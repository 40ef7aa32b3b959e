// cxx_mutex_holder.cc: a C++ program whose worker thread holds a std::mutex, taken in a
// namespaced class's method (cache::Refresher::refresh_table(int), a mangled symbol),
// while main forks. Built with -O2, so std::mutex::lock is inlined and the method itself
// calls pthread_mutex_lock: the acquisition site is the method. The child only _exits.
// Prints "child_status=N".
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace cache {
class Refresher {
  public:
    void refresh_table(int rounds);
    std::atomic<bool> held{false}, done{false};

  private:
    std::mutex table_mutex;
};

__attribute__((noinline)) void Refresher::refresh_table(int rounds)
{
    std::lock_guard<std::mutex> guard(table_mutex);
    held = true;
    for (int i = 0; i < rounds && !done; i++) std::this_thread::sleep_for(std::chrono::milliseconds(10));
}
} // namespace cache

int main()
{
    cache::Refresher r;
    std::thread worker([&r] { r.refresh_table(1000); });
    while (!r.held) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    int status = 0;
    if (pid > 0) waitpid(pid, &status, 0);
    r.done = true;
    worker.join();
    std::printf("child_status=%d\n", pid > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}
