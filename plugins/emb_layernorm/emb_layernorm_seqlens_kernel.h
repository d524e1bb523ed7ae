// Sequence lengths of a packed batch, for BertEmbLayerNorm's seq_lens output in packed mode
// (the padded mode gets them from the mask with bertMaskToSeqLens, emb_layernorm_kernel.h).
#pragma once
#include "../common/bert_kernels_common.h"

#ifdef __cplusplus
extern "C"
{
#endif

    // seq_lens[b] = cu_seqlens[b + 1] - cu_seqlens[b] for b in [0, batch); cu_seqlens is [batch + 1].
    // batch == 0 is a no-op.
    int bertCuSeqlensToSeqLens(const int32_t* cu_seqlens, int32_t batch, int32_t* seq_lens, cudaStream_t stream);

#ifdef __cplusplus
}
#endif
