/* test_s3_xml.c - the S3 response readers on the documents S3 sends (as
 * the S3 API reference shows them) and on damaged ones, and the retry
 * rules: which answers are transient and how the backoff ceiling grows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "fetch/s3_int.h"

#define XML_HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define NS " xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""

static const char list_page[] =
    XML_HEAD "<ListBucketResult" NS ">\n"
    "  <Name>bucket</Name><Prefix>r/packs/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>\n"
    "  <IsTruncated>true</IsTruncated>\n"
    "  <Contents><Key>r/packs/ab/ab01</Key><LastModified>2026-11-22T01:00:00.000Z</LastModified>\n"
    "    <ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag><Size>33554432</Size>\n"
    "    <StorageClass>STANDARD</StorageClass></Contents>\n"
    "  <Contents><Size>7</Size><Key>r/packs/cd/a &amp; b &lt;ü&gt;</Key></Contents>\n"
    "  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>\n"
    "</ListBucketResult>";

static void test_list_page(void **state) {
    (void)state;
    s3_list_page p;
    assert_int_equal(s3_xml_list(list_page, strlen(list_page), &p), STRATA_OK);
    assert_int_equal(p.n, 2);
    assert_string_equal(p.entries[0].key, "r/packs/ab/ab01");
    assert_int_equal(p.entries[0].size, 33554432);
    assert_string_equal(p.entries[1].key, "r/packs/cd/a & b <ü>");
    assert_int_equal(p.entries[1].size, 7);
    assert_true(p.truncated);
    assert_string_equal(p.next_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
    s3_list_page_free(&p);
}

static void test_list_last_page_and_empty(void **state) {
    (void)state;
    const char *last = XML_HEAD "<ListBucketResult" NS "><IsTruncated>false</IsTruncated>"
                                "<Contents><Key>k</Key><Size>0</Size></Contents></ListBucketResult>";
    s3_list_page p;
    assert_int_equal(s3_xml_list(last, strlen(last), &p), STRATA_OK);
    assert_int_equal(p.n, 1);
    assert_false(p.truncated);
    assert_null(p.next_token);
    s3_list_page_free(&p);
    const char *empty = "<ListBucketResult><KeyCount>0</KeyCount></ListBucketResult>";
    assert_int_equal(s3_xml_list(empty, strlen(empty), &p), STRATA_OK);
    assert_int_equal(p.n, 0);
    s3_list_page_free(&p);
}

static void test_list_rejects_damage(void **state) {
    (void)state;
    const char *bad[] = {
        "",
        "<ListBucketResult><Contents><Key>k</Key><Size>12",                        /* cut short */
        "<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>",
        ("<ListBucketResult><Contents><Key>k</Key><Size>99999999999999999999</Size></Contents>"
         "</ListBucketResult>"),
        "<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>", /* no key */
        "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",    /* no token */
        "<Error><Code>AccessDenied</Code></Error>",
        "<!DOCTYPE x [<!ENTITY a \"aaaa\">]><ListBucketResult><Prefix>&a;</Prefix></ListBucketResult>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s3_list_page p;
        print_message("case %zu\n", i);
        assert_int_equal(s3_xml_list(bad[i], strlen(bad[i]), &p), STRATA_EFORMAT);
    }
}

static void test_multipart_documents(void **state) {
    (void)state;
    const char *init = XML_HEAD "<InitiateMultipartUploadResult" NS "><Bucket>b</Bucket><Key>k</Key>"
                                "<UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId>"
                                "</InitiateMultipartUploadResult>";
    char *id = NULL;
    assert_int_equal(s3_xml_upload_id(init, strlen(init), &id), STRATA_OK);
    assert_string_equal(id, "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA");
    free(id);
    const char *no_id = "<InitiateMultipartUploadResult><Key>k</Key></InitiateMultipartUploadResult>";
    assert_int_equal(s3_xml_upload_id(no_id, strlen(no_id), &id), STRATA_EFORMAT);
    const char *done = XML_HEAD "<CompleteMultipartUploadResult" NS "><Location>http://b/k</Location>"
                                "<Bucket>b</Bucket><Key>k</Key>"
                                "<ETag>\"3858f62230ac3c915f300c664312c11f-9\"</ETag>"
                                "</CompleteMultipartUploadResult>";
    char *etag = NULL;
    assert_int_equal(s3_xml_complete_etag(done, strlen(done), &etag), STRATA_OK);
    assert_string_equal(etag, "\"3858f62230ac3c915f300c664312c11f-9\"");
    free(etag);
}

static void test_error_documents(void **state) {
    (void)state;
    const char *slow = XML_HEAD "<Error><Code>SlowDown</Code><Message>Please reduce your request rate."
                                "</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>";
    char *code, *message;
    assert_int_equal(s3_xml_error(slow, strlen(slow), &code, &message), 1);
    assert_string_equal(code, "SlowDown");
    assert_string_equal(message, "Please reduce your request rate.");
    free(code);
    free(message);
    const char *not_error = "<ListBucketResult></ListBucketResult>";
    assert_int_equal(s3_xml_error(not_error, strlen(not_error), &code, &message), 0);
    assert_null(code);
    assert_int_equal(s3_xml_error("\x89PNG binary", 11, &code, &message), 0);
}

static void test_transient_answers(void **state) {
    (void)state;
    assert_true(s3_status_is_transient(500, NULL));
    assert_true(s3_status_is_transient(503, "SlowDown"));
    assert_true(s3_status_is_transient(429, NULL));
    assert_true(s3_status_is_transient(408, NULL));
    assert_true(s3_status_is_transient(400, "RequestTimeout"));
    assert_true(s3_status_is_transient(200, "InternalError")); /* a failed completion */
    assert_false(s3_status_is_transient(403, "AccessDenied"));
    assert_false(s3_status_is_transient(404, "NoSuchKey"));
    assert_false(s3_status_is_transient(400, "BadDigest"));
    assert_false(s3_status_is_transient(200, NULL));
}

static void test_backoff(void **state) {
    (void)state;
    assert_true(s3_retry_ceiling(0) > 0.05 && s3_retry_ceiling(0) < 0.2);
    for (int i = 1; i < 8; i++) assert_true(s3_retry_ceiling(i) > s3_retry_ceiling(i - 1));
    assert_true(s3_retry_ceiling(40) <= 20.0);
    s3_retry r;
    s3_retry_start(&r, 0.3);
    double t0 = strata_mono_s();
    int waits = 0;
    while (s3_retry_wait(&r)) waits++;
    double spent = strata_mono_s() - t0;
    assert_true(waits >= 1);
    assert_true(spent < 0.6); /* the budget bounds the total */
    s3_retry_start(&r, 0);
    assert_int_equal(s3_retry_wait(&r), 0);
    /* an abandoned client waits no more, whatever the budget left */
    int abandoned = 1;
    s3_retry_start(&r, 60);
    r.abandoned = &abandoned;
    t0 = strata_mono_s();
    assert_int_equal(s3_retry_wait(&r), 0);
    assert_true(strata_mono_s() - t0 < 0.05);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_page),
        cmocka_unit_test(test_list_last_page_and_empty),
        cmocka_unit_test(test_list_rejects_damage),
        cmocka_unit_test(test_multipart_documents),
        cmocka_unit_test(test_error_documents),
        cmocka_unit_test(test_transient_answers),
        cmocka_unit_test(test_backoff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
