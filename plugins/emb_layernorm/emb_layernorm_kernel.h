// EmbLayerNorm: word + position + token-type embedding gathers, their sum and LayerNorm in one
// kernel, plus the sequence lengths that the fused attention needs from the attention mask.
#pragma once
#include "../common/bert_kernels_common.h"

#ifdef __cplusplus
extern "C" {
#endif

// Two layouts of the token ids:
//  - padded: cu_seqlens == NULL; input_ids/token_type_ids are [batch, seq_len] row-major and the
//    position of token (b, s) is s.
//  - packed: cu_seqlens is [batch + 1] cumulative offsets (cu_seqlens[0] = 0); ids are
//    [cu_seqlens[batch]] and the position of token t of sequence b is t - cu_seqlens[b].
//    seq_len is the longest sequence (at least every cu_seqlens[b+1] - cu_seqlens[b]): the
//    kernel runs over batch * seq_len (sequence, position) slots, so tokens past seq_len in a
//    longer sequence would not be written.
// tables (fp32): word_emb [vocab, hidden], pos_emb [max_pos, hidden], type_emb [type_vocab, hidden].
// output: [tokens, hidden] of `dtype`. An id outside its table writes a NaN row (never reads out
// of bounds: such a row reads row 0 of each table, and empty tables are cudaErrorInvalidValue), so
// a bad input is visible instead of silently wrong. batch * seq_len must stay below
// 2^31 (token indices are int32, as cu_seqlens is): cudaErrorNotSupported otherwise.
int bertEmbLayerNorm(const int32_t* input_ids, const int32_t* token_type_ids,
                     const int32_t* cu_seqlens, int32_t batch, int32_t seq_len,
                     const float* word_emb, const float* pos_emb, const float* type_emb,
                     const float* gamma, const float* beta, void* output, int32_t hidden,
                     int32_t vocab, int32_t max_pos, int32_t type_vocab, float epsilon,
                     BertDType dtype, cudaStream_t stream);

// bertEmbLayerNorm with an explicit kernel version (1 to 20; 0 = default), for tests and
// benchmarks; the versions are those of bertLayerNormVersion (layernorm_kernel.h), and so is
// cudaErrorNotSupported for a version that cannot take the shape.
int bertEmbLayerNormVersion(int version, const int32_t* input_ids, const int32_t* token_type_ids,
                            const int32_t* cu_seqlens, int32_t batch, int32_t seq_len,
                            const float* word_emb, const float* pos_emb, const float* type_emb,
                            const float* gamma, const float* beta, void* output, int32_t hidden,
                            int32_t vocab, int32_t max_pos, int32_t type_vocab, float epsilon,
                            BertDType dtype, cudaStream_t stream);

// seq_lens[b] = number of non-zero entries of mask[b, :] (mask is [batch, seq_len], int32,
// right-padded: ones then zeros). This is what the fused attention uses to skip padded keys.
int bertMaskToSeqLens(const int32_t* mask, int32_t batch, int32_t seq_len, int32_t* seq_lens,
                      cudaStream_t stream);

#ifdef __cplusplus
}
#endif
