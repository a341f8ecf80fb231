/* The module map of the test program itself, as the recorder writes it:
 * msf_self_module (fixture.h), for the suites that symbolize their own
 * functions (sites, html). */
#include <elf.h>
#include <limits.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

#include <msgpack.h>

#include "fixture.h"
#include "format.h"

typedef struct self_arg {
    msf *t;
    uint32_t serial;
    const char *path;
} self_arg;

const uint8_t *msf_build_id(const struct dl_phdr_info *info, uint32_t *len)
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE)
            continue;
        const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
            const uint8_t *name = p + sizeof *nh, *desc = name + ((nh->n_namesz + 3) & ~3u);
            if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && !memcmp(name, "GNU", 4)) {
                *len = nh->n_descsz;
                return desc;
            }
            p = desc + ((nh->n_descsz + 3) & ~3u);
        }
    }
    return NULL;
}

static void pack_key(msgpack_packer *pk, const char *k)
{
    msgpack_pack_str(pk, strlen(k));
    msgpack_pack_str_body(pk, k, strlen(k));
}

/* The main program's entry (the one without a name): path, bias, PT_LOAD
 * segments and build-id, as one MODULES record. */
static int self_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    const self_arg *a = arg;
    if (info->dlpi_name && info->dlpi_name[0])
        return 0;
    uint32_t bidlen = 0;
    const uint8_t *bid = msf_build_id(info, &bidlen);
    int nload = 0;
    for (int i = 0; i < info->dlpi_phnum; i++)
        nload += info->dlpi_phdr[i].p_type == PT_LOAD;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, bid ? 4 : 3);
    pack_key(&pk, "path");
    pack_key(&pk, a->path);
    pack_key(&pk, "base");
    msgpack_pack_uint64(&pk, info->dlpi_addr);
    pack_key(&pk, "segments");
    msgpack_pack_array(&pk, (size_t)nload);
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        msgpack_pack_array(&pk, 3);
        msgpack_pack_uint64(&pk, ph->p_vaddr);
        msgpack_pack_uint64(&pk, ph->p_memsz);
        msgpack_pack_uint64(&pk, (ph->p_flags & PF_X ? MSF_SEG_X : 0) | MSF_SEG_R);
    }
    if (bid) {
        pack_key(&pk, "build_id");
        msgpack_pack_bin(&pk, bidlen);
        msgpack_pack_bin_body(&pk, bid, bidlen);
    }
    msf_raw(a->t, a->serial, msf_head(MSF_R_MODULES, MSF_K_RECORD), sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    return 1;
}

int msf_self_module(msf *t, uint32_t serial, char *path, size_t len)
{
    if (len == 0)
        return -1;
    ssize_t e = readlink("/proc/self/exe", path, len - 1);
    if (e <= 0)
        return -1;
    path[e] = '\0';
    self_arg a = { t, serial, path };
    return dl_iterate_phdr(self_cb, &a) == 1 ? 0 : -1;
}
