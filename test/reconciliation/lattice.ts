/*
 * Integral LLL reduction (H. Cohen, "A Course in Computational Algebraic Number Theory", algorithm
 * 2.6.7, delta = 3/4), exact in bigint. Enough for the dozen-dimensional lattices an attacker uses
 * to find small integer corrections that keep public modular fingerprints unchanged.
 */

const dot = (a: bigint[], b: bigint[]) => a.reduce((s, x, i) => s + x * b[i], 0n);
const abs = (x: bigint) => (x < 0n ? -x : x);
/** Nearest integer to n / d for d > 0. */
const roundDiv = (n: bigint, d: bigint) => {
  const q = (2n * n + d) / (2n * d);
  return 2n * n + d < 0n && (2n * n + d) % (2n * d) !== 0n ? q - 1n : q;
};

/** Reduces the rows of `basis` (linearly independent) in place and returns them. */
export function lll(basis: bigint[][]): bigint[][] {
  const b = basis.map((row) => [...row]);
  const n = b.length;
  const d: bigint[] = new Array(n + 1).fill(0n); // d[0] = 1, d[i + 1] = d_i of Cohen (1-based)
  const lambda: bigint[][] = Array.from({ length: n }, () => new Array<bigint>(n).fill(0n));
  d[0] = 1n;
  d[1] = dot(b[0], b[0]);
  let k = 1;
  let kMax = 0;

  const red = (k: number, l: number) => {
    if (2n * abs(lambda[k][l]) <= d[l + 1]) return;
    const q = roundDiv(lambda[k][l], d[l + 1]);
    b[k] = b[k].map((x, i) => x - q * b[l][i]);
    lambda[k][l] -= q * d[l + 1];
    for (let i = 0; i < l; i++) lambda[k][i] -= q * lambda[l][i];
  };

  const swap = (k: number) => {
    [b[k], b[k - 1]] = [b[k - 1], b[k]];
    for (let j = 0; j < k - 1; j++) [lambda[k][j], lambda[k - 1][j]] = [lambda[k - 1][j], lambda[k][j]];
    const l = lambda[k][k - 1];
    const B = (d[k - 1] * d[k + 1] + l * l) / d[k];
    for (let i = k + 1; i <= kMax; i++) {
      const t = lambda[i][k];
      lambda[i][k] = (d[k + 1] * lambda[i][k - 1] - l * t) / d[k];
      lambda[i][k - 1] = (B * t + l * lambda[i][k]) / d[k + 1];
    }
    d[k] = B;
  };

  while (k < n) {
    if (k > kMax) {
      kMax = k;
      for (let j = 0; j <= k; j++) {
        let u = dot(b[k], b[j]);
        for (let i = 0; i < j; i++) u = (d[i + 1] * u - lambda[k][i] * lambda[j][i]) / d[i];
        if (j < k) lambda[k][j] = u;
        else {
          if (u === 0n) throw new Error('lll: the vectors are linearly dependent');
          d[k + 1] = u;
        }
      }
    }
    for (;;) {
      red(k, k - 1);
      if (4n * d[k + 1] * d[k - 1] < 3n * d[k] * d[k] - 4n * lambda[k][k - 1] * lambda[k][k - 1]) {
        swap(k);
        k = Math.max(1, k - 1);
      } else {
        for (let l = k - 2; l >= 0; l--) red(k, l);
        k += 1;
        break;
      }
    }
  }
  return b;
}

export interface LinearCongruence {
  /** Coefficients, one per variable. */
  coefficients: bigint[];
  /** 0n for an exact equation (sum = 0), else the modulus (sum = 0 mod modulus). */
  modulus: bigint;
}

/**
 * Short non-zero integer vectors x with sum(c_i x_i) = 0 (mod m) for every congruence, found by
 * reducing the usual embedding lattice [ I | K*C ; 0 | K*m ] with a large K. Shortest first.
 */
export function shortSolutions(variables: number, congruences: LinearCongruence[]): bigint[][] {
  const K = 1n << 80n;
  const rows: bigint[][] = [];
  for (let i = 0; i < variables; i++) {
    rows.push([...Array.from({ length: variables }, (_, j) => (i === j ? 1n : 0n)), ...congruences.map((c) => K * c.coefficients[i])]);
  }
  congruences.forEach((c, index) => {
    if (c.modulus === 0n) return;
    rows.push([...new Array<bigint>(variables).fill(0n), ...congruences.map((_, j) => (j === index ? K * c.modulus : 0n))]);
  });
  const reduced = lll(rows);
  return reduced
    .filter((row) => row.slice(variables).every((x) => x === 0n) && row.slice(0, variables).some((x) => x !== 0n))
    .map((row) => row.slice(0, variables))
    .sort((a, b) => Number(a.reduce((s, x) => s + abs(x), 0n) - b.reduce((s, x) => s + abs(x), 0n)));
}
