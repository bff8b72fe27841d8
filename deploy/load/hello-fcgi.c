/* The reference FastCGI backend for deploy/loadtest: the least a libfcgi worker can do per request.
 * It answers every request with the bytes of one file (the API response it is compared with), so
 * both sides move the same bytes through nginx. Accepts on fd 0 (spawn-fcgi binds the socket),
 * like the Swift workers, and uses the same reentrant libfcgi calls.
 *
 *   gcc -O2 -o hello-fcgi hello-fcgi.c -lfcgi       spawn-fcgi -s SOCKET -F 2 -- ./hello-fcgi FILE
 */
#include <fcgiapp.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    static char body[1 << 20];
    size_t length = 0;
    if (argc > 1) {
        FILE *file = fopen(argv[1], "rb");
        if (!file) { perror(argv[1]); return 1; }
        length = fread(body, 1, sizeof body, file);
        fclose(file);
    } else {
        length = (size_t)snprintf(body, sizeof body, "{\"hello\":\"world\"}\n");
    }
    char head[256];
    int headLength = snprintf(head, sizeof head,
                              "Status: 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n", length);

    FCGX_Init();
    FCGX_Request request;
    FCGX_InitRequest(&request, 0, 0);
    while (FCGX_Accept_r(&request) >= 0) {
        FCGX_PutStr(head, headLength, request.out);
        FCGX_PutStr(body, (int)length, request.out);
        FCGX_Finish_r(&request);
    }
    return 0;
}
