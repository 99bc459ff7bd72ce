"""Regenerate the Keras to_json() fixtures beside this file (run by hand: python tests/data/make_keras_fixtures.py).

tests/frameworks/test_source_real.py builds the same models with the installed Keras and checks them.
"""
import json
import os
import pathlib

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def sequential():
    import keras
    from keras import layers

    return keras.Sequential([
        keras.Input((28, 28, 3)),
        layers.Conv2D(16, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(32, 3, strides=2, padding="valid"),
        layers.BatchNormalization(),
        layers.Conv2DTranspose(16, 3, strides=2, padding="same", output_padding=1),
        layers.UpSampling2D(2),
        layers.AveragePooling2D(pool_size=3, strides=2, padding="same"),
        layers.Conv2DTranspose(8, 4, strides=2),
    ], name="small_autoencoder")


def functional():
    import keras
    from keras import layers

    inputs = keras.Input((64, 64, 1), name="image")
    c1 = layers.Conv2D(8, 3, padding="same", name="enc1")(inputs)
    c1 = layers.ReLU(name="enc1_relu")(c1)
    p1 = layers.MaxPooling2D(2, name="pool1")(c1)
    c2 = layers.Conv2D(16, 3, padding="same", name="enc2")(p1)
    p2 = layers.MaxPooling2D(2, name="pool2")(c2)
    b = layers.Conv2D(32, 3, padding="same", name="bottom")(p2)
    u2 = layers.Conv2DTranspose(16, 2, strides=2, name="up2")(b)
    m2 = layers.Concatenate(name="skip2")([u2, c2])
    d2 = layers.Conv2D(16, 3, padding="same", name="dec2")(m2)
    u1 = layers.UpSampling2D(2, name="up1")(d2)
    a1 = layers.Add(name="skip1")([u1, layers.Conv2D(16, 1, name="proj1")(c1)])
    out = layers.Conv2D(1, 1, name="head")(a1)
    return keras.Model(inputs, out, name="small_unet")


if __name__ == "__main__":
    here = pathlib.Path(__file__).parent
    for name, make in (("keras_sequential.json", sequential), ("keras_functional_unet.json", functional)):
        (here / name).write_text(json.dumps(json.loads(make().to_json()), indent=1) + "\n")
