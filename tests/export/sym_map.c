/* Helpers of tests/export/test_symbolize.c (sym_map.h). */
#include "sym_map.h"

#include <elf.h>
#include <link.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"
#include "format.h"
#include "mpk.h"

char sym_exe[PATH_MAX];

/* The GNU build-id of a loaded module (at most 64 bytes), its length or 0. */
static int note_build_id(const struct dl_phdr_info *info, uint8_t *out)
{
    uint32_t len = 0;
    const uint8_t *bid = msf_build_id(info, &len);
    if (!bid || len > 64)
        return 0;
    memcpy(out, bid, len);
    return (int)len;
}

static int phdr_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    map *mp = arg;
    if (mp->n == 256)
        return 1;
    mod *m = &mp->m[mp->n++];
    memset(m, 0, sizeof *m);
    snprintf(m->path, sizeof m->path, "%s", info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name : sym_exe);
    m->base = info->dlpi_addr;
    for (int i = 0; i < info->dlpi_phnum && m->nseg < 16; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        m->seg[m->nseg][0] = ph->p_vaddr;
        m->seg[m->nseg][1] = ph->p_memsz;
        m->seg[m->nseg][2] = (ph->p_flags & PF_X) ? MSF_SEG_X : 0;
        m->nseg++;
    }
    m->bidlen = note_build_id(info, m->bid);
    return 0;
}

/* This process's map; *self is set to the program's entry. */
void real_map(map *mp, mod **self)
{
    ssize_t e = readlink("/proc/self/exe", sym_exe, sizeof sym_exe - 1);
    assert_true(e > 0);
    sym_exe[e] = '\0';
    mp->n = 0;
    dl_iterate_phdr(phdr_cb, mp);
    *self = NULL;
    for (int i = 0; i < mp->n; i++)
        if (strcmp(mp->m[i].path, sym_exe) == 0)
            *self = &mp->m[i];
    assert_non_null(*self);
}

void pack_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

/* Packs the map as a MODULES record and hands it to S; returns the generation. */
uint32_t give(msx_sym *S, const map *mp)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, (uint32_t)mp->n);
    for (int i = 0; i < mp->n; i++) {
        const mod *m = &mp->m[i];
        msgpack_pack_map(&pk, m->bidlen > 0 ? 4 : 3);
        pack_str(&pk, MSF_KEY_PATH);
        pack_str(&pk, m->path);
        pack_str(&pk, MSF_KEY_BASE);
        msgpack_pack_uint64(&pk, m->base);
        pack_str(&pk, MSF_KEY_SEGMENTS);
        msgpack_pack_array(&pk, (uint32_t)m->nseg);
        for (int k = 0; k < m->nseg; k++) {
            msgpack_pack_array(&pk, 3);
            for (int j = 0; j < 3; j++)
                msgpack_pack_uint64(&pk, m->seg[k][j]);
        }
        if (m->bidlen > 0) {
            pack_str(&pk, MSF_KEY_BUILD_ID);
            msgpack_pack_bin(&pk, (size_t)m->bidlen);
            msgpack_pack_bin_body(&pk, m->bid, (size_t)m->bidlen);
        }
    }
    msx_arena arena = { 0 };
    msx_obj o;
    assert_true(msx_mpk_decode(&arena, (const uint8_t *)sb.data, sb.size, &o) > 0);
    uint32_t g = msx_sym_modules(S, &o);
    /* the symbolizer keeps nothing of the record: both go now */
    memset(sb.data, 0xee, sb.size);
    msx_arena_free(&arena);
    msgpack_sbuffer_destroy(&sb);
    return g;
}
