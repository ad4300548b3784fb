"""Object detection: IoU, NMS step by step, anchors, RoI pooling and RoI align, from R-CNN to Faster R-CNN."""

from __future__ import annotations

import streamlit as st

from cnnviz.ui import bootstrap, t
from cnnviz.ui.detection import anchors_lesson, iou_lesson, lesson_photo, nms_lesson, rcnn_lesson
from cnnviz.ui.detection_roi import roi_lesson
from cnnviz.ui.detection_training import training_section

bootstrap()
st.title(t("detection.title"))
st.caption(t("detection.summary"))

# --- the photo the lessons draw on (EfficientNet-Lite0's centre crop) ----------------------------
photo = lesson_photo()

# --- the building blocks, one lesson each --------------------------------------------------------
iou_lesson(photo)
nms_lesson()
anchors_lesson(photo)
roi_lesson(photo)
rcnn_lesson()

# --- a one-stage detector trained live (below) ---------------------------------------------------
training_section()
