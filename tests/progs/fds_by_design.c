/* What a forked child shares on purpose against what it should not: a listening TCP
 * socket, a socketpair, a pipe, a file open read-only, a log open with O_APPEND,
 * /dev/null and an unlinked heartbeat file (by design), against a file open for writing without O_APPEND (open_state)
 * and a connected TCP connection, both ends (connect_pair). Expected with fds=own: those
 * three listed, the nine others counted in fds_shared_by_design. argv[1]: a directory. */
#include "progs.h"

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

static int open_state(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/state.db", dir);
    return open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
}

static void connect_pair(int listener, int *client, int *server)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    if (getsockname(listener, (struct sockaddr *)&a, &len) != 0) exit(1);
    *client = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(*client, (struct sockaddr *)&a, len) != 0) exit(1);
    *server = accept(listener, NULL, NULL);
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    char path[512];
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(listener, (struct sockaddr *)&a, sizeof a) != 0 || listen(listener, 4) != 0) return 1;
    int pair[2], p[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0 || pipe(p) != 0) return 1;
    snprintf(path, sizeof path, "%s/app.log", argv[1]);
    int log = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    int ro = open(path, O_RDONLY);
    int null = open("/dev/null", O_WRONLY);
    int state = open_state(argv[1]);
    snprintf(path, sizeof path, "%s/heartbeat", argv[1]); /* unlinked while open: shared on purpose */
    int heartbeat = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (heartbeat < 0 || unlink(path) != 0) return 1;
    int client, server;
    connect_pair(listener, &client, &server);
    if (log < 0 || ro < 0 || null < 0 || state < 0 || client < 0 || server < 0) return 1;
    print_value("state_fd", state);
    print_value("client_fd", client);
    print_value("server_fd", server);
    fork_and_reap();
    return 0;
}
