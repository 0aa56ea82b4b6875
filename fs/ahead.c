/* ahead.c - filling directories ahead of a walk through the tree.
 *
 * `ls -R`, `find`, `du` and `cp -r` walk a view in name order, and the
 * first visit of a version directory builds its tree from the index: the
 * walker waits for that, directory after directory.  Instead, the first
 * listing of a directory that a fill function filled queues the next few
 * of its siblings that still need filling, and worker threads fill them
 * (without the mount lock, fs_dir_build_unlocked) while the walker reads
 * what it has.  A directory filled ahead is listed for the first time when
 * the walker reaches it, which queues further: the window moves with the
 * walker.  Only listings read ahead, not lookups, so opening one file of
 * one version loads no other.  Memory stays bounded by the window: at most
 * AHEAD_DIRS directories past the last one listed are filled unasked. */
#include "fs/mount_int.h"

#include <string.h>

/* Directories filled ahead of the one listed: a version's tree takes about
 * as long to build as a walker takes to list one, so a few suffice to keep
 * the workers busy; each costs the memory of its tree. */
#define AHEAD_DIRS 8
/* Queued directories at most (several walkers at once); more are dropped,
 * and filled when asked for. */
#define AHEAD_QUEUE 64

struct fs_ahead {
    fs_mount *m;
    pthread_cond_t work; /* with the mount lock */
    fs_node *queue[AHEAD_QUEUE];
    size_t head, count;
    int stop;
    pthread_t *threads;
    int n_threads;
};

static void *worker(void *arg) {
    fs_ahead *a = arg;
    fs_mount *m = a->m;
    pthread_mutex_lock(&m->lock);
    for (;;) {
        while (!a->count && !a->stop) pthread_cond_wait(&a->work, &m->lock);
        if (a->stop) break;
        fs_node *dir = a->queue[a->head];
        a->head = (a->head + 1) % AHEAD_QUEUE;
        a->count--;
        dir->queued = 0;
        /* Errors are left for the request that asks for the directory. */
        if (!dir->filled && !dir->filling) fs_dir_ready(m, dir, 0);
    }
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

fs_ahead *fs_ahead_new(fs_mount *m, int workers) {
    fs_ahead *a = xcalloc(1, sizeof *a);
    a->m = m;
    pthread_cond_init(&a->work, NULL);
    a->threads = xcalloc((size_t)workers, sizeof *a->threads);
    for (int i = 0; i < workers; i++) {
        if (pthread_create(&a->threads[a->n_threads], NULL, worker, a) == 0) a->n_threads++;
    }
    return a;
}

void fs_ahead_free(fs_ahead *a) {
    if (!a) return;
    pthread_mutex_lock(&a->m->lock);
    a->stop = 1;
    pthread_cond_broadcast(&a->work);
    pthread_mutex_unlock(&a->m->lock);
    for (int i = 0; i < a->n_threads; i++) pthread_join(a->threads[i], NULL);
    pthread_cond_destroy(&a->work);
    free(a->threads);
    free(a);
}

void fs_ahead_listed(fs_mount *m, fs_node *dir) {
    fs_ahead *a = m->ahead;
    dir->list_ahead = 0;
    if (!a || !dir->parent) return;
    const fs_node *p = dir->parent;
    size_t first = fs_node_rank(dir) + 1;
    for (size_t i = first; i < first + AHEAD_DIRS && i < p->n_children && a->count < AHEAD_QUEUE; i++) {
        fs_node *n = p->children[i];
        if (n->kind != FS_DIR || !n->fill || n->dynamic || n->filled || n->filling || n->queued) continue;
        n->queued = 1;
        a->queue[(a->head + a->count) % AHEAD_QUEUE] = n;
        a->count++;
        pthread_cond_signal(&a->work);
    }
}
