/* SPDX-License-Identifier: MIT */
/* The `switchboard` binary: dispatches to the subcommand named by argv[1]. */
#include "sb/cli.h"

#include <stdio.h>
#include <string.h>

struct command {
    const char *name;
    const char *kind; /* for `eval`: the first argument it handles; NULL otherwise */
    sb_cmd_fn fn;
    const char *help;
};

static const struct command commands[] = {
    {"serve", NULL, sb_cmd_serve, "run the server"},
    {"migrate", NULL, sb_cmd_migrate, "create or upgrade the store schema"},
    {"chat", NULL, sb_cmd_chat, "talk to a running server as a customer"},
    {"train", NULL, sb_cmd_train, "train an intent or sentiment model"},
    {"eval", "intent", sb_nlu_cmd_eval, "intent model: accuracy, macro-F1, out-of-scope"},
    {"eval", "sentiment", sb_nlu_cmd_eval, "sentiment model: accuracy, macro-F1"},
    {"kb", NULL, sb_cmd_kb, "import, search and manage the knowledge base"},
    {"eval", "retrieval", sb_kb_cmd_eval, "knowledge-base ranking: MRR@10, NDCG@10, recall@5"},
    {"eval", "answer", sb_kb_cmd_eval, "bot answers from a KB: right, wrong or abstained"},
    {"eval", "ocr", sb_media_cmd_eval, "receipt OCR: word F1, CER, key-field exact match"},
    {"eval", "asr", sb_media_cmd_eval, "speech recognition: accuracy, WER, real-time factor"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: switchboard COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (commands[i].kind)
            fprintf(out, "  %-8s %-10s %s\n", commands[i].name, commands[i].kind,
                    commands[i].help);
        else
            fprintf(out, "  %-19s %s\n", commands[i].name, commands[i].help);
    }
    fprintf(out, "\n`switchboard COMMAND --help` describes each.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        const struct command *c = &commands[i];
        if (strcmp(c->name, argv[1]) != 0)
            continue;
        if (!c->kind)
            return c->fn(argc - 1, argv + 1);
        /* eval KIND: the handler sees "KIND ARGS..." as its argv */
        if (argc >= 3 && strcmp(c->kind, argv[2]) == 0)
            return c->fn(argc - 2, argv + 2);
    }
    fprintf(stderr, "switchboard: unknown command '%s%s%s'\n\n", argv[1], argc >= 3 ? " " : "",
            argc >= 3 && strcmp(argv[1], "eval") == 0 ? argv[2] : "");
    usage(stderr);
    return 2;
}
