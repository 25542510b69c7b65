"""The comments of the exported files, in English and Korean (``?lang=en|ko``).

Kept in one table so a translation is one edit; keys name the place in the file.
"""

from __future__ import annotations

LANGS = ("en", "ko")

_WORDS: dict[str, tuple[str, str]] = {
    "title": (
        "exported from Backprop Playground: the same network, weights and training rule",
        "Backprop Playground에서 내보낸 파일: 같은 신경망, 같은 가중치, 같은 학습 규칙",
    ),
    "run": (
        "Run `python {file} [steps]` to continue training from step {step} (epoch {epoch});"
        " without a number it finishes the current epoch.",
        "`python {file} [단계 수]`로 실행하면 {step}단계({epoch}번째 에폭)부터 학습을 이어갑니다;"
        " 숫자가 없으면 현재 에폭을 끝까지 학습합니다.",
    ),
    "data": (
        "the data: training rows (in the session's order) and test rows, as the page split them",
        "데이터: 페이지가 나눈 그대로의 훈련 행(세션의 순서)과 테스트 행",
    ),
    "params": (
        "the parameters: W is (inputs, units), so a layer computes x @ W + b",
        "매개변수: W의 모양은 (입력 수, 유닛 수)이고, 층은 x @ W + b 를 계산합니다",
    ),
    "state": (
        "the training state: the random generator, this epoch's shuffle and the next batch",
        "학습 상태: 난수 생성기, 이번 에폭의 섞인 순서, 다음 배치의 위치",
    ),
    "opt_state": (
        "the optimizer's memory of past gradients, per parameter (torch's state names)",
        "옵티마이저가 기억하는 과거 기울기 정보 (매개변수별, torch와 같은 이름)",
    ),
    "forward": (
        "Forward pass: each layer computes u = x W + b, then the activation a = f(u).",
        "순전파: 각 층은 u = x W + b 를 계산한 뒤 활성화 a = f(u) 를 적용합니다.",
    ),
    "batchnorm": (
        "batch norm: normalise each unit with the batch's mean and variance "
        "(train) or the running ones (eval)",
        "배치 정규화: 학습 때는 배치의 평균·분산으로, 평가 때는 누적 평균·분산으로 정규화",
    ),
    "dropout": (
        "inverted dropout: keep each unit with probability {keep}, scale by 1/{keep}",
        "역 드롭아웃: 각 유닛을 확률 {keep}로 남기고 1/{keep}배로 키웁니다",
    ),
    "backward": (
        "Backward pass: from the loss back to the first layer, δ = dL/dz per layer, "
        "dW = xᵀ δ, db = Σ δ, and dL/dx = δ Wᵀ for the layer below.",
        "역전파: 손실에서 첫 층까지 거꾸로, 층마다 δ = dL/dz, dW = xᵀ δ, db = Σ δ, "
        "그리고 아래 층으로 dL/dx = δ Wᵀ 를 넘깁니다.",
    ),
    "out_delta_logits": (
        "output layer: δ = dL/dz straight from the loss on the logits",
        "출력층: 로짓에 대한 손실의 기울기가 곧 δ = dL/dz",
    ),
    "out_delta": (
        "output layer: δ = f'(z) ⊙ dL/da",
        "출력층: δ = f'(z) ⊙ dL/da",
    ),
    "bn_back": (
        "back through batch norm: the batch's mean and variance depend on u too",
        "배치 정규화 역전파: 배치의 평균과 분산도 u에 의존합니다",
    ),
    "step": (
        "One training step: a mini-batch, forward, loss, backward, clipping, update.",
        "학습 한 단계: 미니배치 → 순전파 → 손실 → 역전파 → 클리핑 → 갱신",
    ),
    "running": (
        "batch norm's running statistics take this batch's (momentum 0.1)",
        "배치 정규화의 누적 통계에 이번 배치의 통계를 반영 (모멘텀 0.1)",
    ),
    "epoch_end": (
        "the epoch is over: reshuffle the training rows with the same generator",
        "에폭이 끝났습니다: 같은 난수 생성기로 훈련 행을 다시 섞습니다",
    ),
    "model": (
        "the model: the same layers as torch modules (Linear weight is Wᵀ)",
        "모델: 같은 층을 torch 모듈로 (Linear의 weight는 Wᵀ)",
    ),
    "same_mask": (
        "Dropout drawing its masks from the session's NumPy generator, so the masks are the "
        "page's; in eval mode it is nn.Dropout's identity",
        "세션의 NumPy 난수 생성기로 마스크를 뽑는 Dropout: 페이지와 같은 마스크. "
        "평가 모드에서는 nn.Dropout처럼 그대로 통과",
    ),
    "report": (
        "test rows: loss {loss}",
        "테스트 행: 손실 {loss}",
    ),
}


def words(lang: str) -> dict[str, str]:
    """Every phrase in ``lang`` (one of :data:`LANGS`)."""
    i = LANGS.index(lang)
    return {key: pair[i] for key, pair in _WORDS.items()}
