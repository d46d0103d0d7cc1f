"""What the model needs to know about each data set: shape, classes, statistics, augmentation."""

from __future__ import annotations

from dataclasses import dataclass

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    tfds_name: str
    image_shape: tuple[int, int, int]
    class_names: tuple[str, ...]
    mean: tuple[float, ...]  # per channel, of [0, 1] pixels; applied inside the model
    std: tuple[float, ...]
    augmentation: str  # "crop_flip" or "none"
    test_split: str = "test"

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck")
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot")
DIGITS = tuple(str(d) for d in range(10))
# CIFAR-100's fine labels in label order (the archive's fine_label_names.txt: alphabetical).
CIFAR100_CLASSES = ("apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle",
                    "bicycle", "bottle", "bowl", "boy", "bridge", "bus", "butterfly", "camel",
                    "can", "castle", "caterpillar", "cattle", "chair", "chimpanzee", "clock",
                    "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur",
                    "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house",
                    "kangaroo", "keyboard", "lamp", "lawn_mower", "leopard", "lion", "lizard",
                    "lobster", "man", "maple_tree", "motorcycle", "mountain", "mouse", "mushroom",
                    "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck",
                    "pine_tree", "plain", "plate", "poppy", "porcupine", "possum", "rabbit",
                    "raccoon", "ray", "road", "rocket", "rose", "sea", "seal", "shark", "shrew",
                    "skunk", "skyscraper", "snail", "snake", "spider", "squirrel", "streetcar",
                    "sunflower", "sweet_pepper", "table", "tank", "telephone", "television",
                    "tiger", "tractor", "train", "trout", "tulip", "turtle", "wardrobe", "whale",
                    "willow_tree", "wolf", "woman", "worm")

CATALOG = {
    "cifar10": DatasetInfo("cifar10", "cifar10", (32, 32, 3), CIFAR10_CLASSES,
                           (0.4914, 0.4822, 0.4465), (0.2471, 0.2435, 0.2616), "crop_flip"),
    "cifar100": DatasetInfo("cifar100", "cifar100", (32, 32, 3),
                            CIFAR100_CLASSES,
                            (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762), "crop_flip"),
    "svhn_cropped": DatasetInfo("svhn_cropped", "svhn_cropped", (32, 32, 3), DIGITS,
                                (0.4377, 0.4438, 0.4728), (0.1980, 0.2010, 0.1970), "crop_flip"),
    "mnist": DatasetInfo("mnist", "mnist", (28, 28, 1), DIGITS, (0.1307,), (0.3081,), "none"),
    "fashion_mnist": DatasetInfo("fashion_mnist", "fashion_mnist", (28, 28, 1), FASHION_CLASSES,
                                 (0.2860,), (0.3530,), "none"),
}


def dataset_info(name: str) -> DatasetInfo:
    if name not in CATALOG:
        raise ValueError(f"Unknown dataset {name!r}; allowed: {', '.join(CATALOG)}.")
    return CATALOG[name]
