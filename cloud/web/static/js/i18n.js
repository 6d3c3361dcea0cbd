// Words of the console, Chinese first. `t('key', {n: 3})` fills {n}; a missing key shows itself.
const TEXT = {
  zh: {
    app: '高空安全守望', login: '登录', username: '用户名', password: '密码', logout: '退出', wrong_login: '用户名或密码错误',
    'nav.alarms': '告警', 'nav.board': '设备与统计', 'nav.heatmap': '抛物热力图', 'nav.install': '安装标定', 'nav.phone': '我的任务',
    'lang.switch': 'English', sound_on: '声音：开', sound_off: '声音：关', sound_hint: '点击开启告警声音',
    open_alarms: '未处理告警', recent_events: '最新事件', no_open_alarms: '当前没有未处理告警', no_events: '暂无事件',
    critical: '紧急', major: '重要', minor: '一般', info: '提示',
    'type.thrown_object': '高空抛物', 'type.smoke': '烟雾', 'type.fire': '明火', 'type.camera_offline': '摄像头离线',
    'type.camera_tamper': '摄像头遮挡/移位', 'type.test': '测试',
    'state.triggered': '待通知', 'state.notified': '已通知', 'state.acknowledged': '已确认', 'state.resolved': '已解决',
    'phase.new': '进行中', 'phase.update': '进行中', 'phase.end': '已结束',
    building: '{b}栋', floor: '{f}层', unit: '{u}户', camera: '摄像头', node: '边缘节点', time: '时间', place: '位置',
    confidence: '置信度', level: '升级级别', acked_by: '确认人', assigned_to: '指派给', resolved_by: '处理人',
    ack: '确认接警', assign: '指派', resolve: '处理完毕', false_alarm: '误报', note: '处理说明', photo: '现场照片',
    note_needed: '请填写处理说明', submit: '提交', cancel: '取消', done: '完成', details: '详情',
    outcome: '处理结果', 'outcome.handled': '已处理', 'outcome.false_alarm': '误报',
    clip: '证据视频', clip_pending: '视频尚未上传，稍候自动刷新', snapshot: '快照', no_clip: '无视频',
    facade: '立面示意', origin: '疑似抛出位置', trajectory: '轨迹', fall_floors: '下落 {n} 层',
    evidence: '证据保全', evidence_on: '已保全（不随保留期删除）', evidence_set: '标记为证据', evidence_unset: '取消保全',
    sha256: 'SHA-256', event_id: '事件编号', audit: '处理记录', deliveries: '通知发送', alarm: '告警', no_alarm: '此事件未产生告警',
    channel: '渠道', status: '状态', attempts: '次数', who: '谁', what: '做了什么',
    'action.alarm.triggered': '告警产生', 'action.alarm.notify': '发出通知', 'action.alarm.notified': '通知已送达',
    'action.alarm.escalated': '升级', 'action.alarm.acknowledged': '确认接警', 'action.alarm.resolved': '处理完毕',
    'action.alarm.assigned': '指派', 'action.alarm.reminded': '发出提醒', 'action.alarm.inhibited': '被明火告警抑制', 'action.alarm.silenced': '静默期内', 'action.alarm.level_skipped': '跳过无人值班级别',
    'action.alarm.escalation_exhausted': '升级已到最高级', 'action.delivery.failed': '发送失败',
    nodes: '边缘节点', cameras: '摄像头', online: '在线', offline: '离线', last_seen: '最后心跳', version: '版本',
    cpu: 'CPU', mem: '内存', disk_free: '磁盘剩余', fps: '处理帧率', dropped: '丢帧', problems: '问题',
    cpu_24h: '近 24 小时 CPU 使用率（%）', fps_24h: '近 24 小时处理帧率', alarms_per_day: '近 30 天每日告警数', alarms_word: '告警',
    false_alarms: '误报', no_data: '暂无数据', heatmap_title: '高空抛物来源热力图', days: '近 {n} 天', total: '共 {n} 起',
    heatmap_hint: '按楼层和户位统计抛出位置，便于物业有针对性地开展宣传。', top_units: '高发户位',
    my_alarms: '我的待办告警', go_to: '前往', no_my_alarms: '没有待处理的告警',
    install_title: '摄像头安装标定', choose_camera: '选择摄像头', take_snapshot: '获取当前画面', snapshot_wait: '正在向节点请求画面…',
    snapshot_none: '节点未回传画面（节点离线或摄像头无画面）', snapshot_at: '画面时间 {t}', no_snapshot: '尚无画面，可先获取当前画面',
    corners: '立面四角', corner_tl: '左上', corner_tr: '右上', corner_br: '右下', corner_bl: '左下',
    corner_help: '拖动画面上的圆点，或选中后用方向键微调（Shift 加速）。', floors: '楼层（底层—顶层）', units: '户位（从左到右，逗号分隔）',
    source: '视频源', building_field: '楼栋', masks: '屏蔽区域', add_mask: '新增屏蔽区', finish_mask: '完成屏蔽区', mask_help: '在画面上依次点击多边形顶点，至少 3 点。',
    'mask.ignore': '忽略检测', 'mask.privacy': '隐私遮挡', delete: '删除', valid: '配置有效', invalid: '配置有误',
    export_yaml: '导出 YAML', copy: '复制', copied: '已复制', yaml_help: '粘贴到该节点站点配置的 cameras: 下。',
    forbidden: '您的角色无权查看此页面', not_found: '页面不存在', error: '出错了', loading: '加载中…',
    since: '发生于', ago_s: '{n} 秒前', ago_m: '{n} 分钟前', ago_h: '{n} 小时前', count: '检测 {n} 次', muted: '已静默',
  },
  en: {
    app: 'gridwatch', login: 'Log in', username: 'User name', password: 'Password', logout: 'Log out', wrong_login: 'Wrong user name or password',
    'nav.alarms': 'Alarms', 'nav.board': 'Health & stats', 'nav.heatmap': 'Heatmap', 'nav.install': 'Installer', 'nav.phone': 'My tasks',
    'lang.switch': '中文', sound_on: 'Sound: on', sound_off: 'Sound: off', sound_hint: 'Click to enable alarm sound',
    open_alarms: 'Open alarms', recent_events: 'Latest events', no_open_alarms: 'No open alarms', no_events: 'No events yet',
    critical: 'CRITICAL', major: 'MAJOR', minor: 'minor', info: 'info',
    'type.thrown_object': 'Thrown object', 'type.smoke': 'Smoke', 'type.fire': 'Fire', 'type.camera_offline': 'Camera offline',
    'type.camera_tamper': 'Camera covered/moved', 'type.test': 'Test',
    'state.triggered': 'Triggered', 'state.notified': 'Notified', 'state.acknowledged': 'Acknowledged', 'state.resolved': 'Resolved',
    'phase.new': 'ongoing', 'phase.update': 'ongoing', 'phase.end': 'ended',
    building: 'Bldg {b}', floor: 'floor {f}', unit: 'unit {u}', camera: 'Camera', node: 'Edge node', time: 'Time', place: 'Place',
    confidence: 'Confidence', level: 'Escalation level', acked_by: 'Acknowledged by', assigned_to: 'Assigned to', resolved_by: 'Resolved by',
    ack: 'Acknowledge', assign: 'Assign', resolve: 'Resolve', false_alarm: 'False alarm', note: 'Note', photo: 'Photo',
    note_needed: 'Write what was found or done', submit: 'Submit', cancel: 'Cancel', done: 'Done', details: 'Details',
    outcome: 'Outcome', 'outcome.handled': 'Handled', 'outcome.false_alarm': 'False alarm',
    clip: 'Evidence clip', clip_pending: 'The clip is not uploaded yet; this page refreshes by itself', snapshot: 'Snapshot', no_clip: 'No clip',
    facade: 'Facade', origin: 'Thrown from', trajectory: 'Trajectory', fall_floors: 'fell {n} floors',
    evidence: 'Evidence hold', evidence_on: 'Held as evidence (kept past retention)', evidence_set: 'Hold as evidence', evidence_unset: 'Release hold',
    sha256: 'SHA-256', event_id: 'Event id', audit: 'Audit trail', deliveries: 'Messages', alarm: 'Alarm', no_alarm: 'This event raised no alarm',
    channel: 'Channel', status: 'Status', attempts: 'Attempts', who: 'Who', what: 'What',
    'action.alarm.triggered': 'Alarm raised', 'action.alarm.notify': 'Messages queued', 'action.alarm.notified': 'Message delivered',
    'action.alarm.escalated': 'Escalated', 'action.alarm.acknowledged': 'Acknowledged', 'action.alarm.resolved': 'Resolved',
    'action.alarm.assigned': 'Assigned', 'action.alarm.reminded': 'Reminder sent', 'action.alarm.inhibited': 'Inhibited by a fire alarm', 'action.alarm.silenced': 'Silenced', 'action.alarm.level_skipped': 'Level skipped (nobody on duty)',
    'action.alarm.escalation_exhausted': 'Escalation exhausted', 'action.delivery.failed': 'Delivery failed',
    nodes: 'Edge nodes', cameras: 'Cameras', online: 'online', offline: 'offline', last_seen: 'Last seen', version: 'Version',
    cpu: 'CPU', mem: 'Memory', disk_free: 'Disk free', fps: 'Processed fps', dropped: 'Dropped', problems: 'Problems',
    cpu_24h: 'CPU over 24 h (%)', fps_24h: 'Processed fps over 24 h', alarms_per_day: 'Alarms per day, last 30 days', alarms_word: 'alarms',
    false_alarms: 'false alarms', no_data: 'No data yet', heatmap_title: 'Where thrown objects come from', days: 'last {n} days', total: '{n} in all',
    heatmap_hint: 'Origins by floor and unit, so the property can target its education campaign.', top_units: 'Top units',
    my_alarms: 'My open alarms', go_to: 'Go to', no_my_alarms: 'Nothing to handle',
    install_title: 'Camera installation', choose_camera: 'Camera', take_snapshot: 'Take snapshot', snapshot_wait: 'Asking the node for a frame…',
    snapshot_none: 'The node sent no frame (offline, or the camera has no picture)', snapshot_at: 'Frame of {t}', no_snapshot: 'No frame yet: take a snapshot',
    corners: 'Facade corners', corner_tl: 'top-left', corner_tr: 'top-right', corner_br: 'bottom-right', corner_bl: 'bottom-left',
    corner_help: 'Drag the dots on the picture, or select one and use the arrow keys (Shift: faster).', floors: 'Floors (bottom–top)', units: 'Units (left to right, comma-separated)',
    source: 'Video source', building_field: 'Building', masks: 'Masks', add_mask: 'Add mask', finish_mask: 'Finish mask', mask_help: 'Click the polygon corners on the picture, at least 3.',
    'mask.ignore': 'ignore', 'mask.privacy': 'privacy', delete: 'Delete', valid: 'Valid', invalid: 'Problems',
    export_yaml: 'Export YAML', copy: 'Copy', copied: 'Copied', yaml_help: 'Paste under `cameras:` in the node\'s site YAML.',
    forbidden: 'Your role may not see this page', not_found: 'No such page', error: 'Error', loading: 'Loading…',
    since: 'since', ago_s: '{n} s ago', ago_m: '{n} min ago', ago_h: '{n} h ago', count: 'detected {n}×', muted: 'muted',
  },
};

export function lang() {
  const chosen = localStorage.getItem('gw.lang');
  return chosen === 'en' ? 'en' : 'zh';
}

export function setLang(value) {
  localStorage.setItem('gw.lang', value);
}

export function t(key, vars = {}) {
  const text = TEXT[lang()][key] ?? TEXT.zh[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, k) => (k in vars ? String(vars[k]) : `{${k}}`));
}
