# Simplified Chinese messages of Candor, by msgid; build-aux/po-fill.py turns
# po/candor.pot and this table into po/zh_CN.po. Keep the terms consistent:
# graphics device 图形设备, model 模型, story 故事, illustration 插图, provenance 来源记录.
HEADER = [
    'Project-Id-Version: candor',
    'Report-Msgid-Bugs-To: https://github.com/candorapp/candor/issues',
    'PO-Revision-Date: 2026-11-28 12:00+0000',
    'Last-Translator: The Candor developers',
    'Language-Team: Chinese (simplified)',
    'Language: zh_CN',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=UTF-8',
    'Content-Transfer-Encoding: 8bit',
    'Plural-Forms: nplurals=1; plural=0;',
]

T = {
    'Candor': 'Candor',
    'The Candor developers': 'Candor 开发者',
    'Write and illustrate stories with AI models on your own computer, and keep an honest record of who made what.':
        '用在你自己电脑上运行的 AI 模型写故事、配插图，并如实记录每一部分由谁创作。',
    'translator-credits': 'Candor 开发者',
    'Graphics card': '独立显卡',
    'Integrated graphics': '集成显卡',
    'Virtual graphics device': '虚拟图形设备',
    'Processor, no graphics card (slow)': '处理器，无显卡（较慢）',
    'Vulkan device': 'Vulkan 设备',
    'Preparing the graphics device…': '正在准备图形设备…',
    'Running on %s': '运行于 %s',
    '%s · Vulkan %s': '%s · Vulkan %s',
    'No graphics device': '没有可用的图形设备',
    'Automatic': '自动',
    '%s (not found)': '%s（未找到）',
    'Every operation matches the result computed on the processor.': '每项运算都与处理器上的计算结果一致。',
    'The check was cancelled.': '检查已取消。',
    'Checking…': '正在检查…',
    ('shortcut window', 'General'): '常规',
    'General': '常规',
    ('shortcut window', 'New Window'): '新建窗口',
    ('shortcut window', 'Preferences'): '首选项',
    'Preferences': '首选项',
    ('shortcut window', 'Keyboard Shortcuts'): '键盘快捷键',
    ('shortcut window', 'Close Window'): '关闭窗口',
    ('shortcut window', 'Quit'): '退出',
    ('shortcut window', 'Views'): '视图',
    ('shortcut window', 'Story'): '故事',
    ('shortcut window', 'Illustrations'): '插图',
    'Story': '故事',
    'Illustrations': '插图',
    'Story Writer': '故事写作',
    'Write and illustrate stories with local AI, with an honest record of who made what':
        '用本地 AI 写故事、配插图，并如实记录每一部分由谁创作',
    'writing;story;novel;fiction;illustration;AI;provenance;':
        'writing;story;novel;fiction;illustration;AI;provenance;写作;故事;小说;插图;人工智能;来源;',
    'Window width': '窗口宽度',
    'The width of the last window closed, in pixels.': '最后关闭的窗口的宽度，以像素为单位。',
    'Window height': '窗口高度',
    'The height of the last window closed, in pixels.': '最后关闭的窗口的高度，以像素为单位。',
    'Window maximized': '窗口最大化',
    'Whether the last window closed was maximized.': '最后关闭的窗口是否为最大化状态。',
    'Style': '样式',
    'Follow the system style, or always use the light or the dark style.':
        '跟随系统样式，或始终使用浅色或深色样式。',
    'Graphics device': '图形设备',
    'The name of the Vulkan device that runs the models, or empty to choose the best one automatically. The LOOM_DEVICE environment variable takes precedence.':
        '运行模型所用的 Vulkan 设备名称；留空则自动选择最佳设备。LOOM_DEVICE 环境变量优先。',
    'Write and illustrate stories with local AI': '用本地 AI 写故事、配插图',
    'Candor is a place to write stories and to illustrate them with AI models that run on your own computer, and it keeps an honest record of who made what: which words you typed, which you accepted from a model, and the prompts and brush strokes behind every picture.':
        'Candor 让你用在自己电脑上运行的 AI 模型写故事、配插图，并如实记录每一部分由谁创作：哪些文字是你输入的，哪些是你从模型建议中采纳的，以及每幅图片背后的提示词与笔触。',
    'This first version prepares the engine: it finds your graphics device, checks that it computes correctly, and runs its own Vulkan compute shaders. The story editor and the illustration tools follow.':
        '这个首个版本搭建了引擎：它会找到你的图形设备，检查其计算是否正确，并运行自己的 Vulkan 计算着色器。故事编辑器和插图工具将随后推出。',
    'The first window': '第一个窗口',
    'The foundation: the Loom engine on Vulkan, its device check, and the first window.':
        '基础：基于 Vulkan 的 Loom 引擎、设备检查以及第一个窗口。',
    '_Retry': '重试(_R)',
    'Appearance': '外观',
    'Follow System': '跟随系统',
    'Light': '浅色',
    'Dark': '深色',
    'Graphics Device': '图形设备',
    'Candor runs its models on this device, through Vulkan.': 'Candor 通过 Vulkan 在此设备上运行模型。',
    'Device': '设备',
    'Check Device': '检查设备',
    'Run each operation once and compare it with the same computation on the processor':
        '将每项运算运行一次，并与处理器上的相同计算进行比较',
    '_Check': '检查(_C)',
    '_Cancel': '取消(_C)',
    'Main Menu': '主菜单',
    'Drafting with inline suggestions from a language model on your computer, with a record of every word’s origin, comes in the next version of Candor.':
        '借助本机语言模型的行内建议起草故事，并记录每个字的来源——这一功能将在 Candor 的下一个版本中推出。',
    'Illustrating from prompts with Stable Diffusion models on your computer, with the prompts, seeds and brush work recorded, comes in a later version of Candor.':
        '用本机的 Stable Diffusion 模型根据提示词绘制插图，并记录提示词、种子和笔触——这一功能将在 Candor 的后续版本中推出。',
    '_New Window': '新建窗口(_N)',
    '_Preferences': '首选项(_P)',
    '_Keyboard Shortcuts': '键盘快捷键(_K)',
    '_About Candor': '关于 Candor(_A)',
}
