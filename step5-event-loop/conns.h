/* INTERIM: replaced by layout4's conns.h at the merge. */
#ifndef CONNS_H
#define CONNS_H
#include <stdbool.h>
struct conn {
    int fd;
    bool cut;
    struct conn *prev, *next;
};
struct conns;
struct conns *conns_create(void);
void conns_add(struct conns *cs, struct conn *c);
void conns_forget(struct conns *cs, struct conn *c, int status);
void conns_cut(struct conns *cs);
void conns_report(struct conns *cs);
void conns_destroy(struct conns *cs);
#endif
