/* fuzz_s3_xml.c - libFuzzer target for the parser of S3 response bodies.
 *
 * The bodies come from the network, so every reader must turn any byte
 * string into either a result or STRATA_EFORMAT without crashing, leaking
 * or reading out of bounds.  Each input is given to all four readers;
 * the listing's entries are walked so their strings are really used.
 * No seed corpus is needed: libFuzzer learns the element paths from the
 * parser's string comparisons within seconds. */
#include <string.h>

#include "fetch/s3_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *xml = (const char *)data;
    s3_list_page page;
    if (s3_xml_list(xml, size, &page) == STRATA_OK) {
        for (size_t i = 0; i < page.n; i++)
            if (strlen(page.entries[i].key) > size) __builtin_trap();
        if (page.truncated && !page.next_token) __builtin_trap();
        s3_list_page_free(&page);
    }
    char *s = NULL;
    if (s3_xml_upload_id(xml, size, &s) == STRATA_OK) free(s);
    if (s3_xml_complete_etag(xml, size, &s) == STRATA_OK) free(s);
    char *code = NULL, *message = NULL;
    if (s3_xml_error(xml, size, &code, &message)) {
        free(code);
        free(message);
    }
    return 0;
}
