/* base_int.h - what the files of the base module share. */
#ifndef STRATA_BASE_INT_H
#define STRATA_BASE_INT_H

/* True once strata_log_set_quiet(1): the progress meter stays silent too. */
int strata_log_quiet(void);

#endif
