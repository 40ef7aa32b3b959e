/* forkaudit.h: public interface of libforkaudit.so, the fork-safety auditor.
 *
 * A program needs nothing from this header to be audited: preloading the library
 * (LD_PRELOAD=libforkaudit.so, or tools/forkaudit) is enough. The header gives the version
 * and lets a program ask whether it runs under the auditor.
 *
 * Options are read once, at load time, from the environment variable FORKAUDIT_OPTIONS
 * (key=value pairs separated by ':', ',' or whitespace; FORKAUDIT_OPTIONS=help=1 lists
 * them). Reports go to the log named by log_path (stderr by default).
 */
#ifndef FORKAUDIT_H
#define FORKAUDIT_H

#define FORKAUDIT_VERSION_MAJOR 0
#define FORKAUDIT_VERSION_MINOR 3
#define FORKAUDIT_VERSION_PATCH 0
/* "MAJOR.MINOR.PATCH" of this header. */
#define FORKAUDIT_VERSION "0.3.0"

#ifdef __cplusplus
extern "C" {
#endif

/* Returns the version string ("MAJOR.MINOR.PATCH") of the loaded library; a static string,
 * never NULL. A program that wants to know whether it is being audited without linking
 * against the library declares it weak and tests the address:
 *
 *     #pragma weak forkaudit_version
 *     if (forkaudit_version) printf("audited by forkaudit %s\n", forkaudit_version());
 */
const char *forkaudit_version(void);

#ifdef __cplusplus
}
#endif

#endif
