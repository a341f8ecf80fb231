/* Prints errno as main sees it on entry: 0, as the C standard says, whatever
 * ran before main (memscope's constructor among them). */
#include <errno.h>
#include <stdio.h>

int main(void)
{
    int e = errno;
    printf("errno=%d\n", e);
    return 0;
}
