"""The PyTorch twins of CnnSharp's models (src/CnnSharp/Models/), with the same child names, so state_dict() keys match.

Imported by bench/peers/pytorch_models.py, bench/peers/pytorch_convnet.py and tests/reference/generate_model_fixtures.py;
nothing here runs on import. Every layer keeps PyTorch's default initialisation, as CnnSharp's modules do.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class ConvNet(nn.Module):
    """The seed's MNIST ConvNet (Models/ConvNet.cs): input (N, 1, 28, 28)."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.layer1 = nn.Sequential(nn.Conv2d(1, 16, kernel_size=5, stride=1, padding=2), nn.BatchNorm2d(16), nn.ReLU(),
                                    nn.MaxPool2d(kernel_size=2, stride=2))
        self.layer2 = nn.Sequential(nn.Conv2d(16, 32, kernel_size=5, stride=1, padding=2), nn.BatchNorm2d(32), nn.ReLU(),
                                    nn.MaxPool2d(kernel_size=2, stride=2))
        self.fc = nn.Linear(7 * 7 * 32, num_classes)

    def forward(self, x):
        out = self.layer1(x)
        out = self.layer2(out)
        out = out.reshape(out.size(0), -1)
        return self.fc(out)


def lenet5(num_classes=10):
    """LeNet-5 (Models/LeNet5.cs): input (N, 1, 28, 28)."""
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(),
                         nn.Linear(400, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, num_classes))


def _conv_bn_relu(cin, cout):
    return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU()]


class VggSmall(nn.Module):
    """Models/VggSmall.cs: features (Sequential), avgpool, flatten, classifier; input (N, 3, 32, 32)."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(*_conv_bn_relu(3, 32), *_conv_bn_relu(32, 32), nn.MaxPool2d(2, 2),
                                      *_conv_bn_relu(32, 64), *_conv_bn_relu(64, 64), nn.MaxPool2d(2, 2),
                                      *_conv_bn_relu(64, 128))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(128, num_classes)

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


class BasicBlock(nn.Module):
    """torchvision's BasicBlock (Models/BasicBlock.cs): conv3x3-BN-ReLU-conv3x3-BN, + identity or 1x1 projection, ReLU."""

    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(out + identity)


class ResNet8(nn.Module):
    """Models/ResNet8.cs: stem, one BasicBlock per stage (16, 32/2, 64/2), avgpool, fc; input (N, 3, 32, 32)."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU()
        self.layer1 = nn.Sequential(BasicBlock(16, 16))
        self.layer2 = nn.Sequential(BasicBlock(16, 32, 2))
        self.layer3 = nn.Sequential(BasicBlock(32, 64, 2))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        return self.fc(torch.flatten(self.avgpool(out), 1))


# name -> (constructor, input shape without the batch dimension)
MODELS = {
    "convnet": (ConvNet, (1, 28, 28)),
    "lenet5": (lenet5, (1, 28, 28)),
    "vgg_small": (VggSmall, (3, 32, 32)),
    "resnet8": (ResNet8, (3, 32, 32)),
}


class ResNet9(nn.Module):
    """Models/ResNet9.cs: prep, conv-pool stages with a BasicBlock after the first and last, avgpool, fc; (N, 1, 28, 28)."""

    def __init__(self, num_classes=10, in_channels=1, width=16):
        super().__init__()
        w = width

        def stage(cin, cout, pool):
            layers = [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]
            return layers + [nn.MaxPool2d(2, 2)] if pool else layers

        self.prep = nn.Sequential(*stage(in_channels, w, False))
        self.layer1 = nn.Sequential(*stage(w, 2 * w, True), BasicBlock(2 * w, 2 * w))
        self.layer2 = nn.Sequential(*stage(2 * w, 4 * w, True))
        self.layer3 = nn.Sequential(*stage(4 * w, 8 * w, True), BasicBlock(8 * w, 8 * w))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8 * w, num_classes)

    def forward(self, x):
        x = self.layer3(self.layer2(self.layer1(self.prep(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))
