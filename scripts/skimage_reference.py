#!/usr/bin/python3
"""Reference PSNR / SSIM values from scikit-image for test/metrics.test.ts.

Run from anywhere (paths are relative to the repository root):

    /usr/bin/python3 scripts/skimage_reference.py

It crops small regions of real test images (BSD68 gray, CBSD68 color, Set5 x2 HR/LR), makes
distorted versions deterministically (seeded Gaussian noise, clipped and rounded to 8 bits; or the
LR crop upscaled by nearest / bicubic for the SR pairs), saves both images of each pair as 8-bit
PNG under test/fixtures/metrics/, and writes test/fixtures/metrics/reference.json with the values
skimage gives on the PNGs as read back (float64 in [0, 1], i.e. uint8 / 255):

- psnr:  peak_signal_noise_ratio(ref, x, data_range=1)
- ssim:  structural_similarity(x, ref, gaussian_weights=True, sigma=1.5,
         use_sample_covariance=False, data_range=1[, channel_axis=-1 for color])
- ssim_sample_cov (some cases): the same with use_sample_covariance=True
- color pairs: psnr_y / ssim_y on the BT.601 luma Y = 16 + 65.481 R + 128.553 G + 24.966 B
  (float64, 0..255), `shave` pixels cropped from each side, data_range=255; psnr_y_round /
  ssim_y_round with Y rounded to integers first.
"""
import json
import os
import platform
import sys

import numpy as np
import scipy
import skimage
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = '/work/shared/data'
OUT = os.path.join(ROOT, 'test', 'fixtures', 'metrics')

SSIM_ARGS = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False)


def load(path, mode):
    im = Image.open(path)
    assert im.mode == mode, f'{path}: mode {im.mode}, expected {mode}'
    return np.asarray(im, dtype=np.uint8)


def crop(a, top, left, h, w):
    assert top + h <= a.shape[0] and left + w <= a.shape[1], (a.shape, top, left, h, w)
    return np.ascontiguousarray(a[top:top + h, left:left + w])


def add_noise(clean, sigma, seed):
    rng = np.random.default_rng(seed)
    noisy = clean.astype(np.float64) + rng.normal(0.0, sigma, clean.shape)
    return np.clip(np.round(noisy), 0, 255).astype(np.uint8)


def save(a, name):
    path = os.path.join(OUT, name)
    Image.fromarray(a).save(path, optimize=True)
    back = np.asarray(Image.open(path))
    assert back.dtype == np.uint8 and np.array_equal(back, a), name
    return back


def luma255(rgb01):
    return 16.0 + 65.481 * rgb01[..., 0] + 128.553 * rgb01[..., 1] + 24.966 * rgb01[..., 2]


def case(cid, kind, ref_u8, x_u8, note, shave=None, sample_cov=False):
    ref_file, x_file = f'{cid}_ref.png', f'{cid}_x.png'
    ref = save(ref_u8, ref_file).astype(np.float64) / 255.0
    x = save(x_u8, x_file).astype(np.float64) / 255.0
    color = ref.ndim == 3
    ch = dict(channel_axis=-1) if color else {}
    entry = {
        'id': cid,
        'kind': kind,
        'ref': ref_file,
        'x': x_file,
        'shape': list(ref.shape),
        'note': note,
        'psnr': float(peak_signal_noise_ratio(ref, x, data_range=1)),
        'ssim': float(structural_similarity(x, ref, data_range=1, **SSIM_ARGS, **ch)),
    }
    if sample_cov:
        args = dict(SSIM_ARGS, use_sample_covariance=True)
        entry['ssim_sample_cov'] = float(structural_similarity(x, ref, data_range=1, **args, **ch))
    if color and shave is not None:
        s = shave
        yr, yx = luma255(ref), luma255(x)
        yr, yx = yr[s:yr.shape[0] - s, s:yr.shape[1] - s], yx[s:yx.shape[0] - s, s:yx.shape[1] - s]
        entry['shave'] = s
        entry['psnr_y'] = float(peak_signal_noise_ratio(yr, yx, data_range=255))
        entry['ssim_y'] = float(structural_similarity(yx, yr, data_range=255, **SSIM_ARGS))
        rr, rx = np.round(yr), np.round(yx)
        entry['psnr_y_round'] = float(peak_signal_noise_ratio(rr, rx, data_range=255))
        entry['ssim_y_round'] = float(structural_similarity(rx, rr, data_range=255, **SSIM_ARGS))
    return entry


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = []

    # Gray denoising pairs (BSD68): clean crop vs noisy crop.
    bsd = os.path.join(DATA, 'denoise', 'test', 'BSD68')
    gray_specs = [
        ('gray_test001_s15', 'test001.png', (100, 150, 96, 96), 15, 1, True),
        ('gray_test002_s25', 'test002.png', (40, 60, 96, 96), 25, 2, False),
        ('gray_test003_s50', 'test003.png', (150, 200, 96, 96), 50, 3, False),
        ('gray_test004_odd_s10', 'test004.png', (21, 33, 53, 77), 10, 4, False),
        ('gray_test005_small_s25', 'test005.png', (70, 90, 11, 14), 25, 5, True),
    ]
    for cid, f, box, sigma, seed, sc in gray_specs:
        clean = crop(load(os.path.join(bsd, f), 'L'), *box)
        cases.append(case(cid, 'gray', clean, add_noise(clean, sigma, seed),
                          f'BSD68/{f} crop (top, left, h, w)={box}, Gaussian noise sigma={sigma}/255 seed={seed}',
                          sample_cov=sc))

    # Color denoising pairs (CBSD68): clean vs noisy, plus luma metrics with 4 pixels shaved.
    cbsd = os.path.join(DATA, 'denoise', 'test', 'CBSD68')
    names = sorted(os.listdir(cbsd))
    color_specs = [
        ('color_a_s15', names[0], (60, 80, 80, 80), 15, 11, True),
        ('color_b_s25', names[1], (120, 40, 80, 80), 25, 12, False),
        ('color_c_s50', names[2], (30, 200, 80, 80), 50, 13, False),
        ('color_d_odd_s25', names[3], (10, 17, 45, 61), 25, 14, False),
    ]
    for cid, f, box, sigma, seed, sc in color_specs:
        clean = crop(load(os.path.join(cbsd, f), 'RGB'), *box)
        cases.append(case(cid, 'color', clean, add_noise(clean, sigma, seed),
                          f'CBSD68/{f} crop (top, left, h, w)={box}, Gaussian noise sigma={sigma}/255 seed={seed}',
                          shave=4, sample_cov=sc))

    # SR pairs (Set5 x2): HR crop vs the matching LR crop upscaled x2.
    set5 = os.path.join(DATA, 'sr', 'test', 'Set5', 'x2')
    sr_specs = [
        ('sr_img_001_nearest', 'img_001', (200, 160, 96, 96), 'nearest'),
        ('sr_img_002_bicubic', 'img_002', (100, 120, 96, 96), 'bicubic'),
        ('sr_img_003_bilinear', 'img_003', (64, 64, 72, 88), 'bilinear'),
    ]
    for cid, stem, box, method in sr_specs:
        hr = load(os.path.join(set5, f'{stem}_SRF_2_HR.png'), 'RGB')
        lr = load(os.path.join(set5, f'{stem}_SRF_2_LR.png'), 'RGB')
        top, left, h, w = box
        hr_c = crop(hr, top, left, h, w)
        lr_c = crop(lr, top // 2, left // 2, h // 2, w // 2)
        resample = {'nearest': Image.NEAREST, 'bicubic': Image.BICUBIC, 'bilinear': Image.BILINEAR}[method]
        up = np.asarray(Image.fromarray(lr_c).resize((w, h), resample=resample), dtype=np.uint8)
        cases.append(case(cid, 'sr', hr_c, up,
                          f'Set5 x2 {stem}: HR crop (top, left, h, w)={box} vs LR crop upscaled x2 by PIL {method}',
                          shave=2))

    ref = {
        'description': 'skimage reference values for lib/metrics (test/metrics.test.ts); '
                       'images are the PNGs in this folder read as float64 uint8/255',
        'command': '/usr/bin/python3 scripts/skimage_reference.py',
        'versions': {
            'python': platform.python_version(),
            'skimage': skimage.__version__,
            'scipy': scipy.__version__,
            'numpy': np.__version__,
        },
        'settings': {
            'psnr': 'peak_signal_noise_ratio(ref, x, data_range=1)',
            'ssim': 'structural_similarity(x, ref, gaussian_weights=True, sigma=1.5, '
                    'use_sample_covariance=False, data_range=1, channel_axis=-1 for color)',
            'ssim_sample_cov': 'as ssim with use_sample_covariance=True',
            'psnr_y': 'peak_signal_noise_ratio(Yref, Yx, data_range=255), '
                      'Y = 16 + 65.481 R + 128.553 G + 24.966 B (R, G, B in [0, 1], float64), '
                      '`shave` pixels cropped from each side',
            'ssim_y': 'structural_similarity(Yx, Yref, gaussian_weights=True, sigma=1.5, '
                      'use_sample_covariance=False, data_range=255) on the same shaved Y',
            'psnr_y_round / ssim_y_round': 'as psnr_y / ssim_y with Y rounded to integers (np.round) after shaving',
        },
        'cases': cases,
    }
    with open(os.path.join(OUT, 'reference.json'), 'w') as fh:
        json.dump(ref, fh, indent=2)
        fh.write('\n')
    print(f'wrote {len(cases)} cases to {os.path.relpath(OUT, ROOT)}/reference.json', file=sys.stderr)


if __name__ == '__main__':
    main()
