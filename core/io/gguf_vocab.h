/* core/io/gguf_vocab.h: a GGUF file's SentencePiece vocabulary as a llama2.c tokenizer. */
#ifndef BALDRO_CORE_IO_GGUF_VOCAB_H
#define BALDRO_CORE_IO_GGUF_VOCAB_H

#include "io/gguf.h"
#include "io/llama2c.h"

/* From tokenizer.ggml.tokens and tokenizer.ggml.scores (llama.cpp's llama2.c export).
 * BALDRO_EINVAL, naming the file and key, when they are missing, mistyped or disagree. */
int baldro_gguf_l2c_tokenizer(const baldro_gguf_file *f, baldro_l2c_tokenizer **out,
                              baldro_error *err);

#endif /* BALDRO_CORE_IO_GGUF_VOCAB_H */
