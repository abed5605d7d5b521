"""SmolVLM / SmolVLM2 (transformers `smolvlm`; Idefics3-style image splitting).

The processor resizes every image so its longest edge is `size["longest_edge"]` (small images
are scaled UP: real checkpoints use 4 tiles, so a square image is always 4 x 4 tiles), rounds
it up to whole tiles of `max_image_size` and, when that is more than one tile (always, unless
size <= max_image_size), splits it into rows x cols tiles plus one global tile (the whole
image squashed to one tile):

    <fake_token_around_image><row_1_col_1><image>*S <fake_token_around_image><row_1_col_2>... \\n ... \\n
    \\n<fake_token_around_image><global-img><image>*S<fake_token_around_image>

with S = `image_seq_len` = (tile / patch)^2 / scale_factor^2 tokens per tile (the pixel
shuffle merges scale_factor^2 patches into one token). Its `pixel_values` are
[prompts, max tiles, 3, tile, tile], padded with all-zero tiles; the model drops every
all-zero tile and scatters the remaining tiles' features, in order, onto the `<image>`
tokens. `split_vision` keeps the real tiles only, flat ([tiles, 3, tile, tile], prompt-major)
plus each prompt's tile count (`tiles`, one row per prompt), and `model_inputs` pads them back
to [rows, max tiles, ...]. For the forward alone one batch of all tiles ([1, tiles, ...]) is
the same computation, but `generate(num_return_sequences=n)` regroups the image features by
the pixel_values batch rows (transformers 5.x `_expand_multimodal_outputs`): with a single
batch row every expanded prompt would get the wrong tiles, so the layout stays per prompt.

Text: Llama decoder, plain 1-row RoPE, no image-token marks in the forward.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .base import Family

ROW_COL_TOKENS = tuple(f"<row_{r}_col_{c}>" for r in range(1, 7) for c in range(1, 7))  # as the real tokenizer

# SmolVLM2's chat template (processing_smolvlm.DEFAULT_CHAT_TEMPLATE, the checkpoints' own), video branch dropped.
# It has no default system turn: "<|im_start|>User:<image>text<end_of_utterance>\nAssistant:".
SMOLVLM_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{ message['role'] | capitalize }}"
    "{% if message['content'] is string %}{{ ': ' + message['content'] }}"
    "{% else %}{% if message['content'][0]['type'] == 'image' %}{{ ':' }}{% else %}{{ ': ' }}{% endif %}"
    "{% for line in message['content'] %}"
    "{% if line['type'] == 'text' %}{{ line['text'] }}{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}"
    "{% endfor %}{% endif %}<end_of_utterance>\n{% endfor %}"
    "{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"
)

TILE = 64  # the tiny vision encoder's image_size (real: 384 / 512)
PATCH = 16
SCALE = 2


class SmolVLM(Family):
    name = "smolvlm"
    model_types = ("smolvlm",)
    box_convention = "normalized"
    box_source = ("SmolVLM2 model card documents no box format; gpg_vl asks for x1, y1, x2, y2 normalised "
                  "to 0..1 of the image (the resolution-free choice, as the image is split into tiles)")
    never_sample = ("<image>", "<fake_token_around_image>", "<global-img>", "<|im_start|>", *ROW_COL_TOKENS)
    language_model = ("model.text_model.",)
    vision_modules = ("model.vision_model.", "model.connector.")
    fsdp_wrap = ("LlamaDecoderLayer", "SmolVLMEncoderLayer")  # text_config is llama; SmolVLMVisionTransformer's layers
    token_types = None
    position_rows = 1
    end_of_turn = "<end_of_utterance>"
    # Real SmolVLM2 ids: <|endoftext|> 0 (unk), <|im_start|> 1 (bos), <|im_end|> 2 (pad); eos <end_of_utterance>.
    tiny_specials = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<fake_token_around_image>", "<image>",
                     "<global-img>", "<end_of_utterance>", *ROW_COL_TOKENS)
    tiny_template = SMOLVLM_TEMPLATE
    tiny_eos = end_of_turn
    tiny_pad = "<|im_end|>"

    # --- vision ------------------------------------------------------------------------

    def split_vision(self, enc, counts: list[int]) -> tuple[dict[str, Tensor], dict[str, list[int]]]:
        """[B, N_max, 3, H, W] (+ mask [B, N_max, H, W]) -> the real tiles only, prompt-major, on dim 0,
        and `tiles` [B]: each prompt's tile count (one row per prompt, so it follows `vision_for`).

        A tile is padding iff it is all zeros: the model's own criterion (get_image_features).
        """
        if "pixel_values" not in enc:
            return {}, {}
        pixel_values = enc["pixel_values"]
        real = pixel_values.flatten(2).ne(0).any(dim=2)  # [B, N_max]
        tiles = real.sum(dim=1)
        for b, (n, images) in enumerate(zip(tiles.tolist(), counts)):
            if (n == 0) != (images == 0):
                raise ValueError(f"prompt {b}: {images} image(s) but {n} tile(s)")
        vision = {"pixel_values": pixel_values[real], "tiles": tiles}
        rows = {"pixel_values": tiles.tolist(), "tiles": [1] * len(counts)}
        if "pixel_attention_mask" in enc:
            vision["pixel_attention_mask"] = enc["pixel_attention_mask"][real]
            rows["pixel_attention_mask"] = tiles.tolist()
        return vision, rows

    def model_inputs(self, input_ids: Tensor, attention_mask: Tensor | None, token_types: Tensor | None,
                     vision: dict[str, Tensor]) -> dict[str, Tensor]:
        """The tiles padded back per prompt: [prompts, max tiles, 3, H, W] (and [prompts, max tiles, H, W]).

        `prompts` are the rows `vision` was selected for (`vision_for`): the input rows, or a packed
        row's groups (the model only counts tiles, in order, so both are the same forward).
        """
        out = dict(input_ids=input_ids)
        if attention_mask is not None:
            out["attention_mask"] = attention_mask
        pixel_values, tiles = vision.get("pixel_values"), vision.get("tiles")
        if pixel_values is None or pixel_values.shape[0] == 0:
            return out
        if tiles is None:  # a flat tensor with no per-prompt counts: one batch of all tiles
            tiles = torch.tensor([pixel_values.shape[0]])
        tiles = tiles.to(pixel_values.device)
        prompt = torch.repeat_interleave(torch.arange(len(tiles), device=tiles.device), tiles)  # [T]
        slot = torch.arange(len(prompt), device=tiles.device) - (tiles.cumsum(0) - tiles)[prompt]
        for key in ("pixel_values", "pixel_attention_mask"):
            if vision.get(key) is not None:
                flat = vision[key]
                padded = flat.new_zeros(len(tiles), int(tiles.max()), *flat.shape[1:])
                padded[prompt, slot] = flat
                out[key] = padded
        return out

    # --- the tiny builder --------------------------------------------------------------

    def tiny_tokenizer_kwargs(self) -> dict:
        """The real tokenizer's named tokens (the processor reads them by these names)."""
        return dict(bos_token="<|im_start|>", unk_token="<|endoftext|>",
                    extra_special_tokens={"image_token": "<image>", "fake_image_token": "<fake_token_around_image>",
                                          "global_image_token": "<global-img>",
                                          "end_of_utterance_token": "<end_of_utterance>"})

    def tiny_config(self, tok, hidden: int, layers: int, heads: int, vision_width: int, vision_depth: int):
        from transformers import SmolVLMConfig

        ids = tok.convert_tokens_to_ids
        text = dict(model_type="llama", vocab_size=len(tok), hidden_size=hidden, intermediate_size=hidden * 2,
                    num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
                    head_dim=hidden // heads, max_position_embeddings=8192, rms_norm_eps=1e-5,
                    rope_parameters={"rope_type": "default", "rope_theta": 100000.0}, tie_word_embeddings=True,
                    bos_token_id=ids("<|im_start|>"), eos_token_id=ids("<end_of_utterance>"),
                    pad_token_id=ids("<|im_end|>"))
        vision = dict(hidden_size=vision_width, intermediate_size=vision_width * 2, num_hidden_layers=vision_depth,
                      num_attention_heads=2, image_size=TILE, patch_size=PATCH)
        return SmolVLMConfig(text_config=text, vision_config=vision, scale_factor=SCALE,
                             image_token_id=ids("<image>"), tie_word_embeddings=True, pad_token_id=ids("<|im_end|>"))

    def tiny_processor(self, tok, min_pixels: int, max_pixels: int):
        """SmolVLM's processor at the tiny tile size; min/max_pixels do not apply (it resizes by edge).

        The longest edge goes to 2 tiles (real checkpoints: 4), so an image becomes 2 x 2 tiles + the
        global one (2 x 1 + 1 when wider than 2:1): 5 x 4 = 20 `<image>` tokens at most.
        """
        from transformers import SmolVLMImageProcessor, SmolVLMProcessor, SmolVLMVideoProcessor

        image = SmolVLMImageProcessor(size={"longest_edge": 2 * TILE}, max_image_size={"longest_edge": TILE},
                                      do_image_splitting=True)
        video = SmolVLMVideoProcessor(size={"longest_edge": TILE}, max_image_size={"longest_edge": TILE})
        return SmolVLMProcessor(image_processor=image, tokenizer=tok, video_processor=video,
                                image_seq_len=(TILE // PATCH) ** 2 // SCALE ** 2, chat_template=self.tiny_template)
