/* SPDX-License-Identifier: MIT */
/*
 * The engine's "asks for a person" detector that the escalation check uses: English and
 * Chinese phrasings beyond the policy's single words, and ordinary questions that must not
 * escalate.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sb/engine_routing.h"

static void test_asks_for_human(void **state)
{
    (void)state;
    static const char *const yes[] = {
        "Can I speak with somebody from your team?",
        "put me through to a manager please",
        "I need a real person",
        "talk to someone",
        "Are you a bot? I want a human",
        "let me chat with a live agent",
        "I want to talk to your supervisor!!",
        "I want a manager now",
        "我要找人工客服",
        "我想和真人说话",
        "叫你们主管来",
        "请让工作人员联系我",
        "转人工",
    };
    static const char *const no[] = {
        "where is my order 123456?",
        "Do you ship to Norway?",
        "I want a refund for the blue sofa",
        "我的快递什么时候到",
        "how much is the oslo sofa",
        "I need a sofa for 4 people",
        "I want someone to deliver it on Saturday",
        "do you want the man's jacket in blue",
        "",
    };
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        if (!sb_engine_asks_for_human(yes[i]))
            fail_msg("should ask for a person: %s", yes[i]);
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        if (sb_engine_asks_for_human(no[i]))
            fail_msg("should not ask for a person: %s", no[i]);
    assert_int_equal(sb_engine_asks_for_human(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_asks_for_human)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
