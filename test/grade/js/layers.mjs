// cs231n's layers.py written in JavaScript: the same function names, arguments and results
// ([out, cache] tuples as arrays), tensors {data, shape} in C order. Correct; the grade tests'
// JS module.

const zeros = (shape) => ({ data: new Float64Array(shape.reduce((a, b) => a * b, 1)), shape });

export function conv_forward_naive(x, w, b, conv_param) {
  const { stride, pad } = conv_param;
  const [N, C, H, W] = x.shape;
  const [F, , HH, WW] = w.shape;
  const Hout = 1 + Math.floor((H + 2 * pad - HH) / stride);
  const Wout = 1 + Math.floor((W + 2 * pad - WW) / stride);
  const out = zeros([N, F, Hout, Wout]);
  for (let n = 0; n < N; n++)
    for (let f = 0; f < F; f++)
      for (let i = 0; i < Hout; i++)
        for (let j = 0; j < Wout; j++) {
          let s = b.data[f];
          for (let c = 0; c < C; c++)
            for (let di = 0; di < HH; di++)
              for (let dj = 0; dj < WW; dj++) {
                const h = i * stride + di - pad;
                const v = j * stride + dj - pad;
                if (h < 0 || h >= H || v < 0 || v >= W) continue;
                s += x.data[((n * C + c) * H + h) * W + v] * w.data[((f * C + c) * HH + di) * WW + dj];
              }
          out.data[((n * F + f) * Hout + i) * Wout + j] = s;
        }
  return [out, { x, w, conv_param }];
}

export function conv_backward_naive(dout, cache) {
  const { x, w, conv_param } = cache;
  const { stride, pad } = conv_param;
  const [N, C, H, W] = x.shape;
  const [F, , HH, WW] = w.shape;
  const [, , Hout, Wout] = dout.shape;
  const dx = zeros(x.shape);
  const dw = zeros(w.shape);
  const db = zeros([F]);
  for (let n = 0; n < N; n++)
    for (let f = 0; f < F; f++)
      for (let i = 0; i < Hout; i++)
        for (let j = 0; j < Wout; j++) {
          const g = dout.data[((n * F + f) * Hout + i) * Wout + j];
          db.data[f] += g;
          for (let c = 0; c < C; c++)
            for (let di = 0; di < HH; di++)
              for (let dj = 0; dj < WW; dj++) {
                const h = i * stride + di - pad;
                const v = j * stride + dj - pad;
                if (h < 0 || h >= H || v < 0 || v >= W) continue;
                const xi = ((n * C + c) * H + h) * W + v;
                const wi = ((f * C + c) * HH + di) * WW + dj;
                dx.data[xi] += w.data[wi] * g;
                dw.data[wi] += x.data[xi] * g;
              }
        }
  return [dx, dw, db];
}

export function max_pool_forward_naive(x, pool_param) {
  const { pool_height: ph, pool_width: pw, stride } = pool_param;
  const [N, C, H, W] = x.shape;
  const Hout = 1 + Math.floor((H - ph) / stride);
  const Wout = 1 + Math.floor((W - pw) / stride);
  const out = zeros([N, C, Hout, Wout]);
  const argmax = new Int32Array(out.data.length);
  for (let p = 0; p < N * C; p++)
    for (let i = 0; i < Hout; i++)
      for (let j = 0; j < Wout; j++) {
        let best = -Infinity;
        let at = 0;
        for (let di = 0; di < ph; di++)
          for (let dj = 0; dj < pw; dj++) {
            const k = (p * H + i * stride + di) * W + j * stride + dj;
            if (x.data[k] > best) {
              best = x.data[k];
              at = k;
            }
          }
        const o = (p * Hout + i) * Wout + j;
        out.data[o] = best;
        argmax[o] = at;
      }
  return [out, { shape: x.shape, argmax }];
}

export function max_pool_backward_naive(dout, cache) {
  const dx = zeros(cache.shape);
  for (let o = 0; o < cache.argmax.length; o++) dx.data[cache.argmax[o]] += dout.data[o];
  return dx;
}

export function relu_forward(x) {
  return [{ data: x.data.map((v) => Math.max(0, v)), shape: x.shape }, x];
}

export function relu_backward(dout, x) {
  return { data: dout.data.map((g, i) => (x.data[i] > 0 ? g : 0)), shape: dout.shape };
}

export function affine_forward(x, w, b) {
  const N = x.shape[0];
  const [D, M] = w.shape;
  const out = zeros([N, M]);
  for (let n = 0; n < N; n++)
    for (let m = 0; m < M; m++) {
      let s = b.data[m];
      for (let d = 0; d < D; d++) s += x.data[n * D + d] * w.data[d * M + m];
      out.data[n * M + m] = s;
    }
  return [out, { x, w }];
}

export function affine_backward(dout, { x, w }) {
  const N = x.shape[0];
  const [D, M] = w.shape;
  const dx = zeros(x.shape);
  const dw = zeros(w.shape);
  const db = zeros([M]);
  for (let n = 0; n < N; n++)
    for (let m = 0; m < M; m++) {
      const g = dout.data[n * M + m];
      db.data[m] += g;
      for (let d = 0; d < D; d++) {
        dx.data[n * D + d] += w.data[d * M + m] * g;
        dw.data[d * M + m] += x.data[n * D + d] * g;
      }
    }
  return [dx, dw, db];
}

export function svm_loss(x, y) {
  const [N, C] = x.shape;
  const dx = zeros(x.shape);
  let loss = 0;
  for (let i = 0; i < N; i++) {
    const yi = y.data[i];
    for (let j = 0; j < C; j++) {
      if (j === yi) continue;
      const margin = x.data[i * C + j] - x.data[i * C + yi] + 1;
      if (margin > 0) {
        loss += margin;
        dx.data[i * C + j] += 1 / N;
        dx.data[i * C + yi] -= 1 / N;
      }
    }
  }
  return [loss / N, dx];
}

export function softmax_loss(x, y) {
  const [N, C] = x.shape;
  const dx = zeros(x.shape);
  let loss = 0;
  for (let i = 0; i < N; i++) {
    let max = -Infinity;
    for (let j = 0; j < C; j++) max = Math.max(max, x.data[i * C + j]);
    let sum = 0;
    for (let j = 0; j < C; j++) sum += Math.exp(x.data[i * C + j] - max);
    for (let j = 0; j < C; j++) {
      const p = Math.exp(x.data[i * C + j] - max) / sum;
      dx.data[i * C + j] = (p - (j === y.data[i] ? 1 : 0)) / N;
    }
    loss -= x.data[i * C + y.data[i]] - max - Math.log(sum);
  }
  return [loss / N, dx];
}
