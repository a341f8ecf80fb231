/* A program that ends without exit(): `ending_prog _exit` calls _exit(0),
 * `ending_prog exec` replaces itself with /bin/true, `ending_prog badexec`
 * tries to exec a missing file and then returns from main. Run under
 * LD_PRELOAD by test_preload. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    char *volatile keep = malloc(123); /* one block live at the end */
    (void)keep;
    if (argc > 1 && strcmp(argv[1], "_exit") == 0)
        _exit(0);
    if (argc > 1 && strcmp(argv[1], "exec") == 0) {
        execl("/bin/true", "true", (char *)NULL);
        return 1;
    }
    if (argc > 1 && strcmp(argv[1], "badexec") == 0) {
        execl("/nonexistent/program", "x", (char *)NULL);
        return 0; /* the exec failed: an ordinary exit follows */
    }
    return 2;
}
