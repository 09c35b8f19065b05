"""Probing a submission's photos and videos, nothing decoded beyond what a check needs.

- `photo`: real format, displayed size and colour, with Pillow (oversized images refused first).
- `video`: container, codec, size, frame rate and duration, with ffprobe (and whether the file
  really reaches its declared end).
- `probe`: every photo and video of a submission, in parallel threads.
"""
