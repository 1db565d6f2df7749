/*
 * freeport.c - print a TCP port on 127.0.0.1 that is free right now.
 *
 * For servers that cannot take -p 0 and report the port they got
 * (nginx, in make bench). Binding port 0 lets the kernel choose; the
 * port is released when this program exits, and in the short time
 * before the server binds it another program could take it, so the
 * caller must check that its server did start.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t len = sizeof addr;

    addr.sin_addr.s_addr = htonl(0x7f000001); /* 127.0.0.1 */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) < 0) {
        perror("freeport");
        return 1;
    }
    printf("%d\n", ntohs(addr.sin_port));
    close(fd);
    return 0;
}
