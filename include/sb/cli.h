/* SPDX-License-Identifier: MIT */
/*
 * The subcommands of the `switchboard` binary. Each takes the arguments after its own name
 * (argv[0] is the subcommand name) and returns the process exit status: 0 success, 1 a
 * failure it has reported on stderr, 2 a usage error.
 */
#ifndef SB_CLI_H
#define SB_CLI_H

typedef int (*sb_cmd_fn)(int argc, char **argv);

int sb_cmd_serve(int argc, char **argv);   /* src/http/cmd_serve.c */
int sb_cmd_migrate(int argc, char **argv); /* src/store/cmd_migrate.c */
int sb_cmd_chat(int argc, char **argv);    /* src/http/cmd_chat.c */
int sb_cmd_train(int argc, char **argv);   /* src/nlu/cmd_train.c */
int sb_cmd_kb(int argc, char **argv);      /* src/kb/cmd_kb.c */
/* `eval KIND ...`: each module evaluates its own kinds. */
int sb_nlu_cmd_eval(int argc, char **argv);   /* intent, sentiment */
int sb_kb_cmd_eval(int argc, char **argv);    /* retrieval, answer */
int sb_media_cmd_eval(int argc, char **argv); /* ocr, asr */

#endif
